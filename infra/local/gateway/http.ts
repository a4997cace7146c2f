/** Small HTTP helpers the gateway's parts share. */
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 1024 * 1024;
/** Past the limit, up to this much more is read and dropped so the keep-alive connection stays usable; beyond it the answer closes the connection. */
const MAX_DRAINED_BYTES = 16 * 1024 * 1024;

/** An error the gateway itself answers with: its status code and a `{"message","field"?}` body. */
export class GatewayError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const tooLarge = (headers: Record<string, string> = {}) =>
  new GatewayError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`, 'body', headers);

/**
 * The whole body, at most MAX_BODY_BYTES. An over-long body is still read to its end (and dropped) so the
 * 413 arrives on a connection the client can go on using; one longer still is answered at once and closed.
 */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES + MAX_DRAINED_BYTES) return Promise.reject(tooLarge({ connection: 'close' }));
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > MAX_BODY_BYTES + MAX_DRAINED_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        reject(tooLarge({ connection: 'close' }));
      }
    });
    req.once('end', () => (size > MAX_BODY_BYTES ? reject(tooLarge()) : resolvePromise(Buffer.concat(chunks))));
    req.once('error', reject);
  });
}

/** The body as JSON: 400 naming the body when it is not. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8');
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new GatewayError(400, 'The request body is not a JSON object.', 'body');
}

/** The decoded path, or 400 for a malformed %-escape (API Gateway refuses such a path too). */
export function decodedPath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    throw new GatewayError(400, 'The path has a malformed %-escape.', 'path');
  }
}

export function send(res: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

export function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/** API Gateway joins repeated query parameters with commas. */
export function queryParameters(url: URL): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const key of new Set(url.searchParams.keys())) params[key] = url.searchParams.getAll(key).join(',');
  return Object.keys(params).length ? params : undefined;
}

export type Invoke = (functionKey: string, event: unknown) => Promise<unknown>;
