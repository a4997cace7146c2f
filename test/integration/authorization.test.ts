/**
 * The authorization matrix: every authorized route in serverless.yml and the WebSocket refuse each kind of
 * bad token; another user's export, import, batch and error report are not found; members are refused admin
 * routes; download links are scoped to one object with a bounded expiry. Tokens are signed here with jose;
 * the valid-signature variants (expired, other issuer/audience) use the local issuer's own key from the data
 * directory, so each case fails on the one claim it changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { decodeJwt, importJWK, SignJWT, type JWK } from 'jose';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadServerlessFunctions } from '../../infra/local/serverless-config';
import { api, pollUntilDone, signIn, stack, statusPath } from './client';

let alice: string;
let bob: string;
let badTokens: Record<string, string>;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  [alice, bob] = await Promise.all([signIn('alice'), signIn('bob')]);
  const claims = decodeJwt(alice);
  const privateJwk = JSON.parse(readFileSync(join(stack().dataDir, 'local-auth', 'signing-key.json'), 'utf8')) as JWK;
  const key = await importJWK(privateJwk, 'RS256');
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const publicPem = createPublicKey({ key: publicJwk as Parameters<typeof createPublicKey>[0] extends infer _K ? import('node:crypto').webcrypto.JsonWebKey : never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  const base = { ...claims, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 };
  const signed = (payload: Record<string, unknown>) => new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid! }).sign(key);
  const [, body] = alice.split('.');
  badTokens = {
    malformed: 'not-a-token',
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${body}.`,
    'HS256 signed with the public key': await new SignJWT(base).setProtectedHeader({ alg: 'HS256', kid: privateJwk.kid! }).sign(new TextEncoder().encode(publicPem)),
    expired: await signed({ ...base, iat: base.iat - 7200, exp: base.iat - 3600 }),
    'another issuer': await signed({ ...base, iss: 'https://issuer.example/other' }),
    'another audience': await signed({ ...base, aud: 'another-app' }),
    'a tampered payload': `${alice.split('.')[0]}.${b64({ ...claims, sub: 'admin', 'cognito:groups': ['admin'] })}.${alice.split('.')[2]}`,
  };
  // The same key with good claims is accepted, so each refusal above is down to the one thing it changes.
  expect((await api(await signed(base), 'GET', '/search?q=x')).status).toBe(200);
});

const authorizedRoutes = () =>
  Object.values(loadServerlessFunctions(join(process.cwd(), 'serverless.yml')))
    .flatMap((f) => f.httpRoutes)
    .filter((r) => r.authorized);

const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'x').replace(/^\/api/, '');

describe('every authorized route and the WebSocket refuse bad tokens with 401', () => {
  it('no token, malformed, alg none, HS256 with the public key, expired, another issuer or audience, tampered', async () => {
    const routes = authorizedRoutes();
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      expect((await api(undefined, route.method, concrete(route.path))).status, `${route.method} ${route.path} without a token`).toBe(401);
      for (const [kind, token] of Object.entries(badTokens)) {
        expect((await api(token, route.method, concrete(route.path))).status, `${route.method} ${route.path} with ${kind}`).toBe(401);
      }
    }
  });

  it('the WebSocket refuses each of them with 401', async () => {
    for (const [kind, token] of [['no token', ''], ...Object.entries(badTokens)]) {
      const query = new URLSearchParams({ token: token!, executionArn: 'arn:aws:states:us-east-1:000000000000:execution:ferry-export-local:x' });
      const status = await new Promise<number>((resolvePromise) => {
        const socket = new WebSocket(`${stack().url.replace(/^http/, 'ws')}/ws?${query}`);
        socket.once('unexpected-response', (_req, res) => resolvePromise(res.statusCode ?? 0));
        socket.once('open', () => {
          socket.close();
          resolvePromise(101);
        });
        socket.once('error', () => resolvePromise(-1));
      });
      expect(status, kind).toBe(401);
    }
  });
});

describe("another user's things are not found, admin routes are for admins", () => {
  it("another user's export, import, batch and error report are 404, also on the WebSocket", async () => {
    const exportStarted = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { delivery: 'direct', searchCriteria: { q: 'zzzzunlikely' } });
    expect(exportStarted.status).toBe(202);
    const { executionArn } = exportStarted.body;
    expect((await api(bob, 'GET', statusPath(executionArn))).status).toBe(404);

    const single = await api<{ importId: string }>(alice, 'POST', '/imports', { fileName: 'a.csv', size: 10, contentType: 'text/csv', delivery: 'direct' });
    expect(single.status).toBe(201);
    const batch = await api<{ batchId: string }>(alice, 'POST', '/imports', {
      files: [{ fileName: 'b.csv', size: 10, contentType: 'text/csv' }, { fileName: 'c.csv', size: 10, contentType: 'text/csv' }],
      delivery: 'direct',
    });
    expect(batch.status).toBe(201);
    for (const [method, path] of [
      ['GET', `/imports/${single.body.importId}`],
      ['POST', `/imports/${single.body.importId}/complete`],
      ['POST', `/imports/${single.body.importId}/parts`],
      ['GET', `/imports/${batch.body.batchId}`],
      ['POST', `/imports/${batch.body.batchId}/complete`],
    ] as const) {
      expect((await api(bob, method, path)).status, `${method} ${path}`).toBe(404);
    }
    // The error report's link is only ever handed out in the owner's import status, which bob cannot read.
    expect((await api(alice, 'GET', `/imports/${single.body.importId}`)).status).toBe(200);

    const status = await new Promise<number>((resolvePromise) => {
      const socket = new WebSocket(`${stack().url.replace(/^http/, 'ws')}/ws?${new URLSearchParams({ token: bob, executionArn })}`);
      socket.once('unexpected-response', (_req, res) => resolvePromise(res.statusCode ?? 0));
      socket.once('open', () => {
        socket.close();
        resolvePromise(101);
      });
    });
    expect(status).toBe(404);
    await pollUntilDone(alice, executionArn);
  });

  it('a member is refused every admin route with 403', async () => {
    const adminRoutes = authorizedRoutes().filter((r) => r.path.startsWith('/api/admin/'));
    expect(adminRoutes.length).toBeGreaterThanOrEqual(3);
    for (const route of adminRoutes) {
      expect((await api(alice, route.method, concrete(route.path))).status, `${route.method} ${route.path}`).toBe(403);
    }
  });
});

describe('presigned download links', () => {
  it('are scoped to one object and expire no later than the export file', async () => {
    const exportOnce = async () => {
      const started = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { delivery: 'direct', searchCriteria: { q: 'zzzzunlikely' } });
      const done = await pollUntilDone(alice, started.body.executionArn);
      expect(done.status).toBe('SUCCEEDED');
      return new URL(done.url!);
    };
    const [url, other] = [await exportOnce(), await exportOnce()];
    const expires = Number(url.searchParams.get('X-Amz-Expires'));
    expect(expires).toBeGreaterThan(0);
    expect(expires).toBeLessThanOrEqual(72 * 3600);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(other)).status).toBe(200);
  });

  it('a link signed for one object does not open another (the local S3 verifies SigV4)', async () => {
    const exportOnce = async () => {
      const started = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { delivery: 'direct', searchCriteria: { q: 'zzzzunlikely' } });
      return new URL((await pollUntilDone(alice, started.body.executionArn)).url!);
    };
    const [url, other] = [await exportOnce(), await exportOnce()];
    const swapped = new URL(url);
    swapped.pathname = other.pathname;
    expect(swapped.pathname).not.toBe(url.pathname);
    expect((await fetch(swapped)).status).toBe(403);
  });
});
