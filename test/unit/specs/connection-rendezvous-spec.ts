import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionRendezvous } from '../../../core/ports';
import type { OpenSubject, Subject } from './subject';

/** What every ConnectionRendezvous adapter must do (core/ports.ts): either half first, and the second sees both. */
export function describeConnectionRendezvous(name: string, open: OpenSubject<ConnectionRendezvous>): void {
  describe(`${name}: the ConnectionRendezvous port`, () => {
    let subject: Subject<ConnectionRendezvous>;
    let rendezvous: ConnectionRendezvous;
    beforeEach(async () => {
      subject = await open();
      rendezvous = subject.port;
    });
    afterEach(async () => {
      await subject.cleanup?.();
    });

    it('hands the token to a browser that connects after it', async () => {
      expect(await rendezvous.attachTaskToken('arn:1', 'token-1')).toEqual({});
      expect(await rendezvous.attachConnection('arn:1', 'conn-1')).toEqual({ taskToken: 'token-1' });
      expect(await rendezvous.connectionOf('arn:1')).toBe('conn-1');
    });

    it('hands the connection to a token that arrives after it', async () => {
      expect(await rendezvous.attachConnection('arn:1', 'conn-1')).toEqual({});
      expect(await rendezvous.attachTaskToken('arn:1', 'token-1')).toEqual({ connectionId: 'conn-1' });
      expect(await rendezvous.connectionOf('arn:1')).toBe('conn-1');
    });

    it('never lets both halves miss each other when they arrive together', async () => {
      const arns = Array.from({ length: 20 }, (_, i) => `arn:race:${i}`);
      const outcomes = await Promise.all(
        arns.map(async (arn, i) => {
          // Half of them start the token's write first, half the connection's; both are in flight together.
          let token: Promise<{ connectionId?: string }>;
          let connection: Promise<{ taskToken?: string }>;
          if (i % 2 === 0) {
            token = rendezvous.attachTaskToken(arn, `token-${i}`);
            connection = rendezvous.attachConnection(arn, `conn-${i}`);
          } else {
            connection = rendezvous.attachConnection(arn, `conn-${i}`);
            token = rendezvous.attachTaskToken(arn, `token-${i}`);
          }
          return { i, token: await token, connection: await connection };
        }),
      );
      for (const { i, token, connection } of outcomes) {
        expect(token.connectionId === `conn-${i}` || connection.taskToken === `token-${i}`, `execution ${i}`).toBe(true);
        expect(token.connectionId ?? `conn-${i}`).toBe(`conn-${i}`);
        expect(connection.taskToken ?? `token-${i}`).toBe(`token-${i}`);
      }
    });

    it('keeps executions apart', async () => {
      await rendezvous.attachTaskToken('arn:1', 'token-1');
      expect(await rendezvous.attachConnection('arn:2', 'conn-2')).toEqual({});
      expect(await rendezvous.connectionOf('arn:1')).toBeUndefined();
      expect(await rendezvous.connectionOf('arn:unknown')).toBeUndefined();
    });

    it('gives the token again to a browser that reconnects, and points at the new connection', async () => {
      await rendezvous.attachTaskToken('arn:1', 'token-1');
      await rendezvous.attachConnection('arn:1', 'conn-1');
      expect(await rendezvous.attachConnection('arn:1', 'conn-2')).toEqual({ taskToken: 'token-1' });
      expect(await rendezvous.connectionOf('arn:1')).toBe('conn-2');
    });

    it('forgets a connection on disconnect, but not one the browser replaced by reconnecting', async () => {
      await rendezvous.attachConnection('arn:1', 'conn-1');
      await rendezvous.attachConnection('arn:1', 'conn-2');
      await rendezvous.detachConnection('conn-1');
      expect(await rendezvous.connectionOf('arn:1')).toBe('conn-2');
      await rendezvous.detachConnection('conn-2');
      expect(await rendezvous.connectionOf('arn:1')).toBeUndefined();
      expect(await rendezvous.attachTaskToken('arn:1', 'token-1')).toEqual({});
    });

    it('ignores the disconnect of a connection it never saw, or saw go already', async () => {
      await expect(rendezvous.detachConnection('conn-unknown')).resolves.toBeUndefined();
      await rendezvous.attachConnection('arn:1', 'conn-1');
      await rendezvous.detachConnection('conn-1');
      await expect(rendezvous.detachConnection('conn-1')).resolves.toBeUndefined();
    });
  });
}
