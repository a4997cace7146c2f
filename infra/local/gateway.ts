import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TokenVerifier } from '../../functions/auth';
import { decodedPath, GatewayError, readJsonBody, send, type Invoke } from './gateway/http';
import { httpRoutes } from './gateway/http-routes';
import type { GatewayLimits } from './gateway/limits';
import { staticFiles } from './gateway/static-files';
import { startManagementApi } from './gateway/management';
import { webConfigForHost } from './gateway/web-config';
import { websocketApi } from './gateway/websocket';
import type { LocalAuth } from './local-auth';
import type { ServerlessFunction } from './serverless-config';

/**
 * The local API Gateway on one port: the HTTP API routes (gateway/http-routes.ts) and the WebSocket API
 * (gateway/websocket.ts) declared in serverless.yml, the local token issuer, the web app's /config.json, and
 * the web app itself (gateway/static-files.ts). The management API listens apart, on loopback (gateway/management.ts).
 */
export interface GatewayOptions {
  port: number;
  host?: string;
  functions: Record<string, ServerlessFunction>;
  invoke: Invoke;
  verifier: TokenVerifier;
  /** The token issuer and the web app's /config.json need the gateway's own URL, so they come after it listens. */
  services: () => { localAuth?: LocalAuth; webConfig: unknown } | undefined;
  webRoot?: string;
  /** API Gateway's timeouts and payload limits; from the environment when absent (gateway/limits.ts). */
  limits?: GatewayLimits;
  /** Why a service the stack runs in a process of its own cannot answer (undefined while all can): health then answers 503 with it. */
  unavailable?: () => string | undefined;
  /** Requests answered at once; past it the gateway answers 503 with Retry-After (GATEWAY_MAX_IN_FLIGHT). */
  maxInFlight?: number;
}

export interface Gateway {
  url: string;
  port: number;
  managementEndpoint: string;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const handleApi = httpRoutes(options);
  const websockets = websocketApi(options);
  const serveStatic = staticFiles(options.webRoot);

  // Known once the server listens; requests arrive only after that.
  let ownUrl = 'http://localhost';
  const admit = inFlightCap(options.maxInFlight ?? (Number(process.env.GATEWAY_MAX_IN_FLIGHT) || 256));

  const server = createServer((req, res) => {
    if (!admit(res)) return;
    const work = (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      decodedPath(url);
      const services = options.services();
      if (!services && (url.pathname.startsWith('/api/') || url.pathname === '/config.json')) {
        return send(res, 503, { message: 'Ferry is starting; try again in a moment.' }, { 'retry-after': '1' });
      }
      const localAuth = services!.localAuth;
      if (url.pathname === '/api/local/token' && req.method === 'POST' && localAuth) {
        const { username, password } = await readJsonBody(req);
        const idToken = await localAuth.issueToken(String(username ?? ''), String(password ?? ''));
        return idToken ? send(res, 200, { idToken }) : send(res, 401, { message: 'Wrong user name or password.' });
      }
      if (url.pathname === '/api/local/jwks.json' && localAuth) return send(res, 200, localAuth.jwks);
      if (url.pathname === '/config.json') {
        return send(res, 200, webConfigForHost(services!.webConfig, ownUrl, req.headers.host), { 'cache-control': 'no-store' });
      }
      const unavailable = url.pathname === '/api/health' ? options.unavailable?.() : undefined;
      if (unavailable) return send(res, 503, { message: `Ferry cannot serve requests: ${unavailable}.` });
      if (url.pathname.startsWith('/api/')) return handleApi(req, res, url);
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { message: 'The web app answers GET and HEAD only.' }, { allow: 'GET, HEAD' });
      return serveStatic(res, url);
    })();
    work.catch((error: unknown) => answerFailure(req.method, req.url, res, error));
  });
  server.on('upgrade', websockets.upgrade);
  answerMalformedRequests(server);

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolvePromise) => server.listen(options.port, host, resolvePromise));
  const port = (server.address() as AddressInfo).port;
  ownUrl = `http://localhost:${port}`;
  const managementApi = await startManagementApi(websockets.management, { host });
  return {
    url: ownUrl,
    port,
    managementEndpoint: managementApi.endpoint,
    close: () =>
      new Promise<void>((resolvePromise) => {
        void managementApi.close();
        websockets.close();
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}

/** Every failure becomes an answer: the gateway's own (4xx with the reason), anything else a logged generic 500. */
function answerFailure(method: string | undefined, path: string | undefined, res: ServerResponse, error: unknown) {
  const known = error instanceof GatewayError ? error : undefined;
  // A client that hung up mid-request (Node's "aborted") is no failure of ours, and there is no one to answer.
  if (!known && res.destroyed) return;
  if (!known) console.error(JSON.stringify({ level: 'error', msg: 'gateway request failed', method, path, error: String((error as Error)?.stack ?? error) }));
  if (res.headersSent) return res.end();
  if (known) return send(res, known.statusCode, { message: known.message, ...(known.field ? { field: known.field } : {}) }, known.headers);
  send(res, 500, { message: 'Something went wrong on our side.' });
}

/** Overload answers 503 with Retry-After instead of queueing without bound. */
function inFlightCap(limit: number) {
  let inFlight = 0;
  return (res: ServerResponse): boolean => {
    if (inFlight >= limit) {
      send(res, 503, { message: 'Ferry is busy; try again in a moment.' }, { 'retry-after': '1' });
      return false;
    }
    inFlight++;
    res.once('close', () => inFlight--);
    return true;
  };
}

/**
 * Requests Node cannot parse (headers or query string past maxHeaderSize, broken request lines) get a JSON
 * answer, as API Gateway's own errors have one, instead of Node's empty 431/400; the connection then closes.
 */
function answerMalformedRequests(server: Server) {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') return socket.destroy();
    const [status, reason, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'The request line and headers (query string included) are too long.']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'The request took too long to arrive.']
          : [400, 'Bad Request', `The request could not be parsed (${error.code ?? 'malformed'}).`];
    const body = JSON.stringify({ message });
    // A HEAD request's answer has the headers only.
    const head = (error as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
    );
  });
}
