import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenVerifier } from '../../functions/auth';
import { readBody, send, type Invoke } from './gateway/http';
import { httpRoutes } from './gateway/http-routes';
import type { GatewayLimits } from './gateway/limits';
import { staticFiles } from './gateway/static-files';
import { MANAGEMENT_PATH, websocketApi } from './gateway/websocket';
import type { LocalAuth } from './local-auth';
import type { ServerlessFunction } from './serverless-config';

/**
 * The local API Gateway on one port: the HTTP API routes (gateway/http-routes.ts) and the WebSocket API
 * with its management API (gateway/websocket.ts) declared in serverless.yml, the local token issuer, the
 * web app's /config.json, and the web app itself (gateway/static-files.ts).
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
      if (url.pathname.startsWith(MANAGEMENT_PATH)) return websockets.management(req, res, url);
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
  server.on('upgrade', websockets.upgrade);

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolvePromise) => server.listen(options.port, host, resolvePromise));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}`,
    port,
    managementEndpoint: `http://127.0.0.1:${port}/_ws`,
    close: () =>
      new Promise<void>((resolvePromise) => {
        websockets.close();
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}
