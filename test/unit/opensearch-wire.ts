import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Client, Connection } from '@opensearch-project/opensearch';

/**
 * OpenSearch at the wire, for tests: what the real `Client` sends (method, path, query string, body) is handed
 * to a handler, and the handler's status and JSON body go back through the client's own response parsing.
 * `clientOn` does it in-process (a Connection whose request() never opens a socket); `serveOverHttp` does it
 * on a loopback HTTP port, for code that builds its own client from OPENSEARCH_URL.
 */

export interface WireRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The body as sent: JSON text, NDJSON text (bulk) or '' (none). */
  body: string;
  headers: Record<string, string>;
}

export interface WireResponse {
  status: number;
  body?: unknown;
}

export type WireHandler = (request: WireRequest) => WireResponse | Promise<WireResponse>;

const queryOf = (search: string): Record<string, string> => Object.fromEntries(new URLSearchParams(search));

const headersOf = (headers: IncomingHttpHeaders | Record<string, unknown> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));

const responseStream = (
  request: WireRequest,
  response: WireResponse,
): Readable & { statusCode: number; headers: Record<string, string> } => {
  const text = request.method === 'HEAD' || response.body === undefined ? '' : JSON.stringify(response.body);
  const stream = Readable.from(text === '' ? [] : [Buffer.from(text)]) as Readable & {
    statusCode: number;
    headers: Record<string, string>;
  };
  stream.statusCode = response.status;
  stream.headers = { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) };
  return stream;
};

/** A real Client whose every request is answered by `handler`; no retries, so each call is one request. */
export function clientOn(handler: WireHandler): Client {
  class WireConnection extends Connection {
    // Declared for http.request's options and ClientRequest; at run time the transport passes its own
    // params (method, path, querystring, body, headers) and only needs the callback and abort().
    override request(
      options: Parameters<Connection['request']>[0],
      done: Parameters<Connection['request']>[1],
    ): ReturnType<Connection['request']> {
      const params = options as unknown as {
        method: string;
        path: string;
        querystring?: string;
        body?: string | Buffer;
        headers?: Record<string, unknown>;
      };
      const callback = done as unknown as (error: Error | null, response: unknown) => void;
      const request: WireRequest = {
        method: params.method,
        path: params.path,
        query: queryOf(params.querystring ?? ''),
        body: params.body === undefined || params.body === null ? '' : params.body.toString(),
        headers: headersOf(params.headers),
      };
      Promise.resolve()
        .then(() => handler(request))
        .then(
          (response) => callback(null, responseStream(request, response)),
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
        );
      return { abort: () => {} } as unknown as ReturnType<Connection['request']>;
    }
  }
  return new Client({ node: 'http://opensearch.test:9200', Connection: WireConnection, maxRetries: 0 });
}

/** `handler` behind a loopback HTTP server; `url` is what OPENSEARCH_URL would be. */
export async function serveOverHttp(handler: WireHandler): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const url = new URL(incoming.url ?? '/', 'http://localhost');
      const request: WireRequest = {
        method: incoming.method ?? 'GET',
        path: url.pathname,
        query: queryOf(url.search),
        body: Buffer.concat(chunks).toString('utf8'),
        headers: headersOf(incoming.headers),
      };
      Promise.resolve()
        .then(() => handler(request))
        .then(
          (response) => {
            const text = request.method === 'HEAD' || response.body === undefined ? '' : JSON.stringify(response.body);
            outgoing.writeHead(response.status, {
              'content-type': 'application/json; charset=UTF-8',
              'content-length': Buffer.byteLength(text),
            });
            outgoing.end(text);
          },
          (error: unknown) => {
            outgoing.writeHead(500, { 'content-type': 'application/json' });
            outgoing.end(JSON.stringify({ error: { type: 'stub_error', reason: String(error) }, status: 500 }));
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/** The NDJSON lines of a bulk body, parsed. */
export const ndjsonOf = (body: string): unknown[] =>
  body
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as unknown);
