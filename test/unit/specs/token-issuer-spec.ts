import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TokenVerifier } from '../../../functions/auth';
import type { Subject } from './subject';

/** A sign-in service (the local issuer or a Cognito user pool) and the verifier the API checks its ID tokens with. */
export interface TokenIssuerSubject extends Subject<TokenVerifier> {
  /** An ID token for the user, or undefined when the service refuses the sign-in. */
  signIn(username: string, password: string): Promise<string | undefined>;
  /** A member and an admin (in the `admin` group) the service knows, with their password. */
  member: { username: string; email: string; password: string };
  admin: { username: string; email: string; password: string };
}

const tampered = (token: string): string => {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, 'cognito:groups': ['admin'] })).toString('base64url');
  return `${header}.${forged}.${signature}`;
};

/** What both homes' token issuers must give the API (functions/auth.ts): the same user from the same sign-in. */
export function describeTokenIssuer(name: string, open: () => Promise<TokenIssuerSubject>): void {
  describe(`${name}: ID tokens the API accepts`, () => {
    let subject: TokenIssuerSubject;
    beforeEach(async () => {
      subject = await open();
    });
    afterEach(async () => {
      await subject.cleanup?.();
    });

    it("a member's ID token verifies to their username, email and groups, with a stable user id", async () => {
      const { member } = subject;
      const token = await subject.signIn(member.username, member.password);
      expect(token).toBeDefined();
      const { user } = await subject.port.verify(token!);
      expect(user).toMatchObject({ username: member.username, email: member.email });
      expect(user.groups).not.toContain('admin');
      expect(user.userId).toMatch(/\S/);
      const again = await subject.port.verify((await subject.signIn(member.username, member.password))!);
      expect(again.user.userId).toBe(user.userId);
    });

    it("an admin's ID token carries the admin group", async () => {
      const { admin } = subject;
      const { user } = await subject.port.verify((await subject.signIn(admin.username, admin.password))!);
      expect(user).toMatchObject({ username: admin.username, email: admin.email });
      expect(user.groups).toContain('admin');
    });

    it('a wrong password gets no token', async () => {
      expect(await subject.signIn(subject.member.username, `${subject.member.password}-wrong`)).toBeUndefined();
    });

    it('a token whose claims were changed after signing (a member claiming the admin group) is refused', async () => {
      const token = await subject.signIn(subject.member.username, subject.member.password);
      await expect(subject.port.verify(tampered(token!))).rejects.toMatchObject({ name: 'Unauthorized' });
    });
  });
}
