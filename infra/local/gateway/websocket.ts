/**
 * The WebSocket API at /ws (serverless.yml's `$connect`/`$disconnect` routes) and its management API
 * (`/_ws/@connections/{id}`: POST sends, DELETE closes, GET describes), which share the open connections.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ServerlessFunction } from '../serverless-config';
import { lowerCaseHeaders, queryParameters, readBody, send, type Invoke } from './http';
import { enforceConnectionLimits, gatewayLimitsFrom, type GatewayLimits } from './limits';

export const MANAGEMENT_PATH = '/_ws/@connections/';

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

  async function management(req: IncomingMessage, res: ServerResponse, url: URL) {
    const connectionId = decodeURIComponent(url.pathname.slice(MANAGEMENT_PATH.length));
    const socket = connections.get(connectionId);
    if (!socket) return send(res, 410, { message: 'Gone' }, { 'x-amzn-errortype': 'GoneException' });
    if (req.method === 'POST') {
      // API Gateway delivers posted data as a text frame.
      socket.send((await readBody(req)).toString('utf8'));
      return send(res, 200, '');
    }
    if (req.method === 'DELETE') {
      socket.close(1000);
      return send(res, 204, '');
    }
    return send(res, 200, { connectedAt: new Date().toISOString(), identity: {} });
  }

  function close() {
    for (const ws of connections.values()) ws.terminate();
    wss.close();
  }

  return { upgrade, management, close };
}
