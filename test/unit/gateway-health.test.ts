import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/api/health';
import { startGateway, type Gateway } from '../../infra/local/gateway';
import type { ServerlessFunction } from '../../infra/local/serverless-config';

/** Health on the local gateway tells when a service the stack runs in a process of its own has died. */
const health = { handler: 'functions/api/health.handler', modulePath: '/health.ts', exportName: 'handler', timeoutSeconds: 29, httpRoutes: [{ method: 'GET', path: '/api/health', authorized: false }], websocketRoutes: [] } as unknown as ServerlessFunction;
const handler = makeHandler(async () => undefined);
let down: string | undefined;
let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    functions: { health },
    invoke: (_functionKey, event) => handler(event as Parameters<typeof handler>[0]),
    verifier: { verify: () => Promise.reject(new Error('health needs no token')) },
    services: () => ({ webConfig: {} }),
    unavailable: () => down,
  });
});

afterAll(() => gateway.close());

describe('GET /api/health on the local gateway', () => {
  it('answers 200 from the health function while every process of the stack runs', async () => {
    down = undefined;
    const res = await fetch(`${gateway.url}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers 503 naming what died once a service in its own process has exited (the local S3, dynalite)', async () => {
    down = 'the local S3 process exited with SIGKILL';
    const res = await fetch(`${gateway.url}/api/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: 'Ferry cannot serve requests: the local S3 process exited with SIGKILL.' });
  });
});
