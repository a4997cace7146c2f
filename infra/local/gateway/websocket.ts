/**
 * The WebSocket API at /ws (serverless.yml's `$connect`/`$disconnect` routes) and its management API
 * (`@connections/{id}`: POST sends, DELETE closes, GET describes; served on its own loopback port by management.ts),
 * which share the open connections.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ServerlessFunction } from '../serverless-config';
import { lowerCaseHeaders, queryParameters, type Invoke } from './http';
import { enforceConnectionLimits, gatewayLimitsFrom, type GatewayLimits } from './limits';

const REFUSALS: Record<number, string> = { 401: 'Unauthorized', 404: 'Not Found' };

export function websocketApi(options: { functions: Record<string, ServerlessFunction>; invoke: Invoke; limits?: GatewayLimits }) {
  const limits = options.limits ?? gatewayLimitsFrom();
  const wsRoute = (name: string) => Object.entries(options.functions).find(([, f]) => f.websocketRoutes.includes(name))?.[0];
  const connections = new Map<string, WebSocket>();
  const wss = new WebSocketServer({ noServer: true });

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const connectKey = wsRoute('$connect');
    if (url.pathname !== '/ws' || !connectKey) return socket.destroy();
    const connectionId = randomUUID().replace(/-/g, '').slice(0, 16);
    const requestContext = {
      connectionId,
      domainName: req.headers.host ?? 'localhost',
      stage: 'local',
      apiId: 'local',
      requestId: randomUUID(),
      connectedAt: Date.now(),
    };
    // As in API Gateway, the connection exists (and can be posted to) only once $connect returned 200.
    options
      .invoke(connectKey, {
        requestContext: { ...requestContext, routeKey: '$connect', eventType: 'CONNECT' },
        headers: lowerCaseHeaders(req),
        queryStringParameters: queryParameters(url),
        isBase64Encoded: false,
      })
      .then((result) => {
        const statusCode = (result as { statusCode?: number } | undefined)?.statusCode ?? 200;
        if (statusCode !== 200) {
          socket.end(`HTTP/1.1 ${statusCode} ${REFUSALS[statusCode] ?? 'Forbidden'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          connections.set(connectionId, ws);
          enforceConnectionLimits(ws, limits);
          // Only $connect/$disconnect are routed and there is no $default, so API Gateway answers any message so.
          ws.on('message', () => ws.send(JSON.stringify({ message: 'Forbidden', connectionId, requestId: randomUUID() })));
          ws.on('close', () => {
            connections.delete(connectionId);
            const disconnectKey = wsRoute('$disconnect');
            if (disconnectKey) {
              options
                .invoke(disconnectKey, { requestContext: { ...requestContext, routeKey: '$disconnect', eventType: 'DISCONNECT' } })
                .catch((error: unknown) => console.error('[gateway] $disconnect failed', error));
            }
          });
        });
      })
      .catch((error: unknown) => {
        console.error('[gateway] $connect failed', error);
        socket.end('HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      });
  }

  /** The management API's one resource, `@connections/{id}`; its server (management.ts) checked the caller's signature. */
  function management(method: string, connectionId: string, body: Buffer): { statusCode: number; body: unknown; headers?: Record<string, string> } {
    const socket = connections.get(connectionId);
    if (!socket) return { statusCode: 410, body: { message: 'Gone' }, headers: { 'x-amzn-errortype': 'GoneException' } };
    if (method === 'POST') {
      // API Gateway delivers posted data as a text frame.
      socket.send(body.toString('utf8'));
      return { statusCode: 200, body: '' };
    }
    if (method === 'DELETE') {
      socket.close(1000);
      return { statusCode: 204, body: '' };
    }
    return { statusCode: 200, body: { connectedAt: new Date().toISOString(), identity: {} } };
  }

  function close() {
    for (const ws of connections.values()) ws.terminate();
    wss.close();
  }

  return { upgrade, management, close };
}
