/**
 * The HTTP API: serverless.yml's `httpApi` routes, each invoking its function with an API Gateway
 * payload 2.0 event, behind the JWT authorizer where the route names one.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenVerifier } from '../../../functions/auth';
import type { ServerlessFunction } from '../serverless-config';
import { lowerCaseHeaders, queryParameters, readBody, send, type Invoke } from './http';
import { withBrowserHost } from '../browser-host';
import { gatewayLimitsFrom, invokeHttpIntegration, type GatewayLimits } from './limits';

interface HttpRoute {
  functionKey: string;
  method: string;
  path: string;
  pattern: RegExp;
  names: string[];
  authorized: boolean;
}

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

export function httpRoutes(options: {
  functions: Record<string, ServerlessFunction>;
  invoke: Invoke;
  verifier: TokenVerifier;
  limits?: GatewayLimits;
}) {
  const routes = compileRoutes(options.functions);
  const limits = options.limits ?? gatewayLimitsFrom();

  return async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL) {
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
    const outcome = await withBrowserHost(req.headers.host, () => invokeHttpIntegration(options.invoke, route.functionKey, event, limits));
    const result = ('gateway' in outcome ? outcome.gateway : outcome.result) as
      | { statusCode?: number; headers?: Record<string, string>; body?: string }
      | undefined;
    res.writeHead(result?.statusCode ?? 200, result?.headers ?? {});
    res.end(result?.body ?? '');
  };
}
