import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TokenVerifier } from '../../functions/auth';
import type { LocalAuth } from './local-auth';
import type { ServerlessFunction } from './stepfunctions/definitions';

/**
 * The local API Gateway: the HTTP API routes and WebSocket routes declared in serverless.yml,
 * invoking the same handlers with API Gateway-shaped events (payload format 2.0), the WebSocket
 * management API (`POST /_ws/@connections/{id}`), the local token issuer, and the web app.
 */
export interface GatewayOptions {
  port: number;
  host?: string;
  functions: Record<string, ServerlessFunction>;
  invoke: (functionKey: string, event: unknown) => Promise<unknown>;
  verifier: TokenVerifier;
  /** The token issuer and the web app's /config.json need the gateway's own URL, so they come after it listens. */
  services: () => { localAuth?: LocalAuth; webConfig: unknown } | undefined;
  webRoot?: string;
}

export interface Gateway {
  url: string;
  port: number;
  managementEndpoint: string;
  close(): Promise<void>;
}

interface HttpRoute {
  functionKey: string;
  method: string;
  path: string;
  pattern: RegExp;
  names: string[];
  authorized: boolean;
}

const MAX_BODY_BYTES = 1024 * 1024;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

function compileRoutes(functions: Record<string, ServerlessFunction>): HttpRoute[] {
  return Object.entries(functions).flatMap(([functionKey, fn]) =>
    fn.httpRoutes.map((r) => {
      const names: string[] = [];
      const source = r.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, name: string) => {
        names.push(name);
        return '([^/]+)';
      });
      return { functionKey, method: r.method, path: r.path, pattern: new RegExp(`^${source}$`), names, authorized: r.authorized };
    }),
  );
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error('body too large'), { statusCode: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/** API Gateway joins repeated query parameters with commas. */
function queryParameters(url: URL): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const key of new Set(url.searchParams.keys())) params[key] = url.searchParams.getAll(key).join(',');
  return Object.keys(params).length ? params : undefined;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const routes = compileRoutes(options.functions);
  const wsRoute = (name: string) => Object.entries(options.functions).find(([, f]) => f.websocketRoutes.includes(name))?.[0];
  const connections = new Map<string, WebSocket>();

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL) {
    const method = req.method ?? 'GET';
    const match = routes
      .map((route) => ({ route, found: route.method === method ? route.pattern.exec(url.pathname) : null }))
      .find((m) => m.found);
    if (!match?.found) return send(res, 404, { message: 'Not Found' });
    const { route, found } = match;

    let claims: Record<string, unknown> | undefined;
    if (route.authorized) {
      const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer) return send(res, 401, { message: 'Unauthorized' });
      try {
        claims = (await options.verifier.verify(bearer)).claims;
      } catch {
        return send(res, 401, { message: 'Unauthorized' });
      }
    }
    const body = await readBody(req);
    const pathParameters = Object.fromEntries(route.names.map((name, i) => [name, found[i + 1] ?? '']));
    const now = Date.now();
    const event = {
      version: '2.0',
      routeKey: `${route.method} ${route.path}`,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers: lowerCaseHeaders(req),
      queryStringParameters: queryParameters(url),
      pathParameters: route.names.length ? pathParameters : undefined,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        domainName: req.headers.host ?? 'localhost',
        http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: req.headers['user-agent'] ?? '' },
        requestId: randomUUID(),
        routeKey: `${route.method} ${route.path}`,
        stage: '$default',
        time: new Date(now).toISOString(),
        timeEpoch: now,
        ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
      },
      body: body.length ? body.toString('utf8') : undefined,
      isBase64Encoded: false,
    };
    const result = (await options.invoke(route.functionKey, event)) as
      | { statusCode?: number; headers?: Record<string, string>; body?: string }
      | undefined;
    res.writeHead(result?.statusCode ?? 200, result?.headers ?? {});
    res.end(result?.body ?? '');
  }

  async function handleManagement(req: IncomingMessage, res: ServerResponse, url: URL) {
    const connectionId = decodeURIComponent(url.pathname.slice('/_ws/@connections/'.length));
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

  function serveStatic(res: ServerResponse, url: URL) {
    const root = options.webRoot;
    if (!root || !existsSync(join(root, 'index.html'))) {
      return send(res, 200, '<!doctype html><title>Ferry</title><p>The web app is not built yet: run <code>npm run build:web</code>.</p>', {
        'content-type': 'text/html; charset=utf-8',
      });
    }
    const wanted = normalize(join(root, decodeURIComponent(url.pathname)));
    const file = wanted.startsWith(root) && existsSync(wanted) && statSync(wanted).isFile() ? wanted : join(root, 'index.html');
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'cache-control': file.includes(`${join(root, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    createReadStream(file).pipe(res);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const work = (async () => {
      const services = options.services();
      if (!services && (url.pathname.startsWith('/api/') || url.pathname === '/config.json')) {
        return send(res, 503, { message: 'Ferry is starting; try again in a moment.' }, { 'retry-after': '1' });
      }
      const localAuth = services!.localAuth;
      if (url.pathname === '/api/local/token' && req.method === 'POST' && localAuth) {
        const { username, password } = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>;
        const idToken = await localAuth.issueToken(String(username ?? ''), String(password ?? ''));
        return idToken ? send(res, 200, { idToken }) : send(res, 401, { message: 'Wrong user name or password.' });
      }
      if (url.pathname === '/api/local/jwks.json' && localAuth) return send(res, 200, localAuth.jwks);
      if (url.pathname === '/config.json') return send(res, 200, services!.webConfig, { 'cache-control': 'no-store' });
      if (url.pathname.startsWith('/_ws/@connections/')) return handleManagement(req, res, url);
      if (url.pathname.startsWith('/api/')) return handleApi(req, res, url);
      return serveStatic(res, url);
    })();
    work.catch((error: unknown) => {
      const statusCode = (error as { statusCode?: number }).statusCode ?? 500;
      if (statusCode === 500) console.error('[gateway]', error);
      if (!res.headersSent) send(res, statusCode, { message: statusCode === 500 ? 'Something went wrong on our side.' : 'Bad request' });
      else res.end();
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
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
          socket.end(`HTTP/1.1 ${statusCode} ${statusCode === 401 ? 'Unauthorized' : statusCode === 404 ? 'Not Found' : 'Forbidden'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          connections.set(connectionId, ws);
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
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolvePromise) => server.listen(options.port, host, resolvePromise));
  const port = (server.address() as AddressInfo).port;
  const url = `http://localhost:${port}`;
  return {
    url,
    port,
    managementEndpoint: `http://127.0.0.1:${port}/_ws`,
    close: () =>
      new Promise<void>((resolvePromise) => {
        for (const ws of connections.values()) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}
