import { describe, expect, it } from 'vitest';
import { LocalAuthenticator } from './authenticators';

const answering =
  (status: number, body: unknown): typeof fetch =>
  async () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('LocalAuthenticator', () => {
  it('returns the ID token the local token route issues', async () => {
    const auth = new LocalAuthenticator('http://ferry.test/api', answering(200, { idToken: 'a.b.c' }));
    await expect(auth.signIn('alice', 'ferry')).resolves.toBe('a.b.c');
  });

  it('says in plain words that a wrong password did not match', async () => {
    const auth = new LocalAuthenticator('http://ferry.test/api', answering(401, { message: 'Wrong user name or password.' }));
    await expect(auth.signIn('alice', 'nope')).rejects.toThrow('That username and password did not match. Please try again.');
  });

  it('reports an unreachable server as an ApiError with no status', async () => {
    const auth = new LocalAuthenticator('http://ferry.test/api', async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(auth.signIn('alice', 'ferry')).rejects.toMatchObject({ name: 'ApiError', status: 0 });
  });
});
