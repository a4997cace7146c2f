/**
 * The API Gateway limits that shape Ferry's design, applied by the local gateway as AWS applies them:
 * an HTTP API waits 29 s for its Lambda integration (then 503), a Lambda request or response carries at
 * most 6 MB (413 / 500), and a WebSocket connection closes after 10 minutes idle or 2 hours in all.
 * Each duration can be shortened through the environment so that tests can see it happen.
 */
import type { WebSocket } from 'ws';
import type { Invoke } from './http';

export interface GatewayLimits {
  httpIntegrationTimeoutMs: number;
  lambdaPayloadBytes: number;
  wsIdleMs: number;
  wsLifetimeMs: number;
}

const positiveSeconds = (value: string | undefined, fallback: number, name: string) => {
  if (value === undefined || value === '') return fallback;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`${name} must be a positive number of seconds, got "${value}"`);
  return seconds;
};

export function gatewayLimitsFrom(env: NodeJS.ProcessEnv = process.env): GatewayLimits {
  return Object.freeze({
    httpIntegrationTimeoutMs: positiveSeconds(env.HTTP_INTEGRATION_TIMEOUT_SECONDS, 29, 'HTTP_INTEGRATION_TIMEOUT_SECONDS') * 1000,
    lambdaPayloadBytes: 6 * 1024 * 1024,
    wsIdleMs: positiveSeconds(env.WS_IDLE_SECONDS, 600, 'WS_IDLE_SECONDS') * 1000,
    wsLifetimeMs: positiveSeconds(env.WS_LIFETIME_SECONDS, 7200, 'WS_LIFETIME_SECONDS') * 1000,
  });
}

/** What API Gateway answers itself, without the function's say. */
export interface GatewayAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const answer = (statusCode: number, message: string): GatewayAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'apigw-requestid': 'local' },
  body: JSON.stringify({ message }),
});

export const SERVICE_UNAVAILABLE = answer(503, 'Service Unavailable');
export const REQUEST_TOO_LARGE = answer(413, 'Request Entity Too Large');
export const INTERNAL_SERVER_ERROR = answer(500, 'Internal Server Error');

/**
 * Invokes an HTTP integration within the limits: an event over 6 MB is refused before the function runs,
 * an integration slower than the timeout gets 503 (the function itself runs on, as a Lambda does), and a
 * response over 6 MB becomes 500.
 */
export async function invokeHttpIntegration(
  invoke: Invoke,
  functionKey: string,
  event: unknown,
  limits: GatewayLimits,
): Promise<{ result: unknown } | { gateway: GatewayAnswer }> {
  if (Buffer.byteLength(JSON.stringify(event)) > limits.lambdaPayloadBytes) return { gateway: REQUEST_TOO_LARGE };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), limits.httpIntegrationTimeoutMs);
  });
  const running = invoke(functionKey, event);
  running.catch(() => undefined);
  try {
    const result = await Promise.race([running, timedOut]);
    if (result === 'timeout') return { gateway: SERVICE_UNAVAILABLE };
    if (Buffer.byteLength(JSON.stringify(result ?? null)) > limits.lambdaPayloadBytes) return { gateway: INTERNAL_SERVER_ERROR };
    return { result };
  } finally {
    clearTimeout(timer);
  }
}

/** API Gateway's close code for an idle connection and for one past its lifetime ("Going away"). */
export const GOING_AWAY = 1001;

/**
 * Closes a WebSocket after `wsIdleMs` without a message from the client, or `wsLifetimeMs` after it opened;
 * the socket's close handler then runs $disconnect as for any other close.
 */
export function enforceConnectionLimits(ws: WebSocket, limits: GatewayLimits) {
  const goAway = () => ws.close(GOING_AWAY, 'Going away');
  let idle = setTimeout(goAway, limits.wsIdleMs);
  const lifetime = setTimeout(goAway, limits.wsLifetimeMs);
  ws.on('message', () => {
    clearTimeout(idle);
    idle = setTimeout(goAway, limits.wsIdleMs);
  });
  ws.on('close', () => {
    clearTimeout(idle);
    clearTimeout(lifetime);
  });
}
