import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startGateway, type Gateway } from '../../infra/local/gateway';
import { GOING_AWAY, gatewayLimitsFrom, type GatewayLimits } from '../../infra/local/gateway/limits';
import type { ServerlessFunction } from '../../infra/local/serverless-config';

/** The local gateway on a free port, with API Gateway's limits shortened so that a test sees them happen. */
const fn = (extra: Partial<ServerlessFunction>): ServerlessFunction => ({
  handler: 'x.handler',
  modulePath: '/x.ts',
  exportName: 'handler',
  timeoutSeconds: 29,
  httpRoutes: [],
  websocketRoutes: [],
  ...extra,
} as ServerlessFunction);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});

async function gatewayWith(limits: Partial<GatewayLimits>, handlers: Record<string, (event: Record<string, unknown>) => Promise<unknown>>) {
  const invoked: string[] = [];
  const gateway = await startGateway({
    port: 0,
    functions: {
      slow: fn({ httpRoutes: [{ method: 'GET', path: '/api/slow', authorized: false }] }),
      huge: fn({ httpRoutes: [{ method: 'GET', path: '/api/huge', authorized: false }] }),
      echo: fn({ httpRoutes: [{ method: 'POST', path: '/api/echo', authorized: false }] }),
      wsConnect: fn({ websocketRoutes: ['$connect'] }),
      wsDisconnect: fn({ websocketRoutes: ['$disconnect'] }),
    },
    invoke: async (functionKey, event) => {
      invoked.push(functionKey);
      const handler = handlers[functionKey];
      if (!handler) throw new Error(`no handler for ${functionKey}`);
      return handler(event as Record<string, unknown>);
    },
    verifier: { verify: () => Promise.reject(new Error('no route here needs a token')) },
    services: () => ({ webConfig: {} }),
    limits: { ...gatewayLimitsFrom({}), ...limits },
  });
  gateways.push(gateway);
  return { gateway, invoked };
}

const ok = async () => ({ statusCode: 200 });

describe('the local gateway applies API Gateway limits', () => {
  it('reads 29 s, 6 MB, 10 min idle and 2 h lifetime by default, each duration overridable from the environment', () => {
    expect(gatewayLimitsFrom({})).toEqual({
      httpIntegrationTimeoutMs: 29_000,
      lambdaPayloadBytes: 6 * 1024 * 1024,
      wsIdleMs: 600_000,
      wsLifetimeMs: 7_200_000,
    });
    expect(gatewayLimitsFrom({ HTTP_INTEGRATION_TIMEOUT_SECONDS: '2', WS_IDLE_SECONDS: '1.5', WS_LIFETIME_SECONDS: '3' })).toMatchObject({
      httpIntegrationTimeoutMs: 2000,
      wsIdleMs: 1500,
      wsLifetimeMs: 3000,
    });
    expect(() => gatewayLimitsFrom({ WS_IDLE_SECONDS: 'soon' })).toThrow(/WS_IDLE_SECONDS/);
  });

  it('answers 503 Service Unavailable when the integration outlasts the HTTP timeout', async () => {
    const { gateway } = await gatewayWith({ httpIntegrationTimeoutMs: 100 }, {
      slow: async () => {
        await sleep(5_000);
        return { statusCode: 200, body: 'too late' };
      },
    });
    const started = Date.now();
    const res = await fetch(`${gateway.url}/api/slow`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: 'Service Unavailable' });
    // Answered at the timeout, not when the function finished (5 s).
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('answers 500 Internal Server Error for a function response over the Lambda payload limit', async () => {
    const { gateway } = await gatewayWith({}, { huge: async () => ({ statusCode: 200, body: 'x'.repeat(6 * 1024 * 1024 + 1) }) });
    const res = await fetch(`${gateway.url}/api/huge`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('answers 413 for a request whose event exceeds the Lambda payload limit, without invoking the function', async () => {
    const { gateway, invoked } = await gatewayWith({ lambdaPayloadBytes: 64 * 1024 }, { echo: async (event) => ({ statusCode: 200, body: event.body }) });
    const small = await fetch(`${gateway.url}/api/echo`, { method: 'POST', body: 'hello' });
    expect(small.status).toBe(200);
    expect(await small.text()).toBe('hello');
    const large = await fetch(`${gateway.url}/api/echo`, { method: 'POST', body: 'x'.repeat(100 * 1024) });
    expect(large.status).toBe(413);
    expect(await large.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(invoked).toEqual(['echo']);
  });

  const opened = (url: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

  it('closes a WebSocket idle past the idle timeout with 1001 Going away and runs $disconnect', async () => {
    const disconnected: unknown[] = [];
    const { gateway } = await gatewayWith({ wsIdleMs: 150 }, { wsConnect: ok, wsDisconnect: async (event) => disconnected.push(event.requestContext) });
    const ws = await opened(`${gateway.url.replace('http', 'ws')}/ws`);
    const started = Date.now();
    expect(await closed(ws)).toEqual({ code: GOING_AWAY, reason: 'Going away' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    // $disconnect runs after the close reaches the client: wait for it, then check it ran once.
    await expect.poll(() => disconnected.length).toBeGreaterThan(0);
    expect(disconnected).toEqual([expect.objectContaining({ routeKey: '$disconnect', eventType: 'DISCONNECT' })]);
  });

  it('keeps a socket whose client sends messages, answers them as an unrouted message, and still closes it at its lifetime', async () => {
    const { gateway } = await gatewayWith({ wsIdleMs: 150, wsLifetimeMs: 600 }, { wsConnect: ok, wsDisconnect: ok });
    const ws = await opened(`${gateway.url.replace('http', 'ws')}/ws`);
    const replies: unknown[] = [];
    ws.on('message', (data) => replies.push(JSON.parse(data.toString())));
    const closing = closed(ws);
    const started = Date.now();
    const pinger = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ action: 'ping' })), 50);
    const { code } = await closing;
    clearInterval(pinger);
    expect(code).toBe(GOING_AWAY);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(replies.length).toBeGreaterThan(3);
    expect(replies[0]).toEqual({ message: 'Forbidden', connectionId: expect.any(String), requestId: expect.any(String) });
  });
});
