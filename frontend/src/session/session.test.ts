import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Authenticator } from './authenticators';
import { Session } from './session';

const T0 = Date.UTC(2026, 0, 1, 12);

/** An unsigned token with these claims: the session only reads claims, the server verifies. */
const tokenFor = (claims: Record<string, unknown>) =>
  `e30.${btoa(JSON.stringify({ 'cognito:username': 'alice', ...claims })).replace(/=+$/, '')}.sig`;

class FakeAuthenticator implements Authenticator {
  readonly mode = 'cognito' as const;
  refreshes = 0;
  next: () => Promise<string | undefined> = async () => tokenFor({ exp: Date.now() / 1000 + 3600, jti: `fresh-${this.refreshes}` });
  async signIn() {
    return tokenFor({ exp: Date.now() / 1000 + 3600, jti: 'first' });
  }
  async signOut() {}
  refresh() {
    this.refreshes += 1;
    return this.next();
  }
}

const storage = () => {
  const items = new Map<string, string>();
  return {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
    clear: () => items.clear(),
    key: () => null,
    get length() {
      return items.size;
    },
  } satisfies Storage;
};

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Session token refresh', () => {
  it('renews the ID token five minutes before it expires, and again before the new one expires', async () => {
    const auth = new FakeAuthenticator();
    const session = new Session(auth, storage());
    const first = (await session.signIn('alice', 'pw')).idToken;

    await vi.advanceTimersByTimeAsync(54 * 60_000);
    expect(auth.refreshes).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000 + 1);
    expect(auth.refreshes).toBe(1);
    const renewed = session.token();
    expect(renewed).toBeDefined();
    expect(renewed).not.toBe(first);

    await vi.advanceTimersByTimeAsync(55 * 60_000 + 1);
    expect(auth.refreshes).toBe(2);
    expect(session.token()).not.toBe(renewed);
  });

  it('keeps the current token and retries when renewing fails, then ends the session at expiry', async () => {
    const auth = new FakeAuthenticator();
    auth.next = async () => {
      throw new Error('network down');
    };
    const session = new Session(auth, storage());
    const first = (await session.signIn('alice', 'pw')).idToken;

    await vi.advanceTimersByTimeAsync(55 * 60_000 + 1);
    expect(auth.refreshes).toBe(1);
    expect(session.token()).toBe(first);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(auth.refreshes).toBe(2);

    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(session.token()).toBeUndefined();
    expect(session.getSnapshot().notice).toBe('Your session has ended. Please sign in again.');
  });

  it('does not renew after signing out', async () => {
    const auth = new FakeAuthenticator();
    const session = new Session(auth, storage());
    await session.signIn('alice', 'pw');
    await session.signOut();
    await vi.advanceTimersByTimeAsync(2 * 3600_000);
    expect(auth.refreshes).toBe(0);
    expect(session.getSnapshot().user).toBeUndefined();
  });

  it('asks a mode that cannot renew once, and lets its token run out', async () => {
    const auth = new FakeAuthenticator();
    auth.next = async () => undefined;
    const session = new Session(auth, storage());
    await session.signIn('alice', 'pw');
    await vi.advanceTimersByTimeAsync(3600_000 + 1);
    expect(auth.refreshes).toBe(1);
    expect(session.token()).toBeUndefined();
  });
});

describe('Session token refresh with a clock ahead of the issuer', () => {
  it('renews at most every 30 seconds when each new token already looks nearly expired', async () => {
    const auth = new FakeAuthenticator();
    // The issuer's clock is an hour behind the browser's: every token it mints looks almost spent.
    auth.next = async () => tokenFor({ exp: Date.now() / 1000 + 60, jti: `late-${auth.refreshes}` });
    const session = new Session(auth, storage());
    await session.signIn('alice', 'pw');
    await vi.advanceTimersByTimeAsync(55 * 60_000 + 1);
    expect(auth.refreshes).toBe(1);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(auth.refreshes).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(auth.refreshes).toBe(2);
  });
});
