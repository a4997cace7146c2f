import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, type TokenVerifier } from '../../functions/auth';
import { rememberVerifiedTokens } from '../../infra/local/verified-tokens';

/** The local gateway's authorizer verifies a token once, yet never answers for one past its expiry or tampered with. */
const ISSUER = 'http://localhost/api/local';
const AUDIENCE = 'ferry-local';
let server: Server;
let privateKey: CryptoKey;
let verifier: TokenVerifier;

const token = (claims: Record<string, unknown>, expiresAt: number, key = privateKey) =>
  new SignJWT({ token_use: 'id', 'cognito:username': 'alice', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime(expiresAt)
    .sign(key);

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  verifier = rememberVerifiedTokens(createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl }));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

describe('remembered token verification', () => {
  it('answers a valid token with the same user every time it is used', async () => {
    const idToken = await token({ 'cognito:groups': ['member'] }, inSeconds(3600));
    const first = await verifier.verify(idToken);
    const again = await verifier.verify(idToken);
    expect(again).toEqual(first);
    expect(again.user).toEqual({ userId: 'alice', username: 'alice', email: '', groups: ['member'] });
  });

  it('refuses a remembered token once its exp has passed', async () => {
    const expiresAt = inSeconds(1);
    const idToken = await token({}, expiresAt);
    await expect(verifier.verify(idToken)).resolves.toMatchObject({ user: { userId: 'alice' } });
    while (Date.now() < expiresAt * 1000 + 50) await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(verifier.verify(idToken)).rejects.toMatchObject({ name: 'Unauthorized' });
  });

  it('refuses a token with the claims of a remembered one but another signature, every time', async () => {
    const expiresAt = inSeconds(3600);
    await verifier.verify(await token({}, expiresAt));
    const forged = await token({}, expiresAt, (await generateKeyPair('RS256')).privateKey);
    await expect(verifier.verify(forged)).rejects.toMatchObject({ name: 'Unauthorized' });
    await expect(verifier.verify(forged)).rejects.toMatchObject({ name: 'Unauthorized' });
  });

  it('hands each caller its own copy, so one request changing its claims cannot change the next one', async () => {
    const idToken = await token({ 'cognito:groups': ['member'] }, inSeconds(3600));
    const first = await verifier.verify(idToken);
    first.user.groups.push('admin');
    first.claims.sub = 'mallory';
    (first.claims['cognito:groups'] as string[]).push('admin');
    const next = await verifier.verify(idToken);
    expect(next.user.groups).toEqual(['member']);
    expect(next.claims.sub).toBe('alice');
    expect(next.claims['cognito:groups']).toEqual(['member']);
  });
});
