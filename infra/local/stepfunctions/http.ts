/**
 * Serves a LocalStepFunctions over the AWS JSON 1.0 protocol (`X-Amz-Target: AWSStepFunctions.<Action>`),
 * so an unmodified `new SFNClient({ endpoint })` talks to it. Like AWS, it answers only requests signed
 * (SigV4, service `states`) with the local credentials: execution inputs carry e-mail addresses and keys.
 * `GET /_local/api-calls` counts the calls served by action, so tests can show a route makes none of one.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localCredentials, sigV4Refusal, type LocalCredentials } from '../sigv4-verify';
import { StepFunctionsError, type LocalStepFunctions } from './service';

const TARGET_PREFIX = 'AWSStepFunctions.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 1024 * 1024;

type Action = (service: LocalStepFunctions, request: never) => Promise<object>;

const ACTIONS: Record<string, Action> = {
  StartExecution: (service, request) => service.startExecution(request),
  DescribeExecution: (service, request) => service.describeExecution(request),
  ListExecutions: (service, request) => service.listExecutions(request),
  GetExecutionHistory: (service, request) => service.getExecutionHistory(request),
  SendTaskSuccess: (service, request) => service.sendTaskSuccess(request),
  SendTaskFailure: (service, request) => service.sendTaskFailure(request),
  SendTaskHeartbeat: (service, request) => service.sendTaskHeartbeat(request),
  StopExecution: (service, request) => service.stopExecution(request),
};

export async function startStepFunctionsServer(
  service: LocalStepFunctions,
  { port, host = '127.0.0.1', credentials = localCredentials() }: { port: number; host?: string; credentials?: LocalCredentials },
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    handle(service, request, response, credentials).catch((error: unknown) => {
      send(response, 500, { __type: 'InternalFailure', message: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: boundPort } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Calls served, by action, since the server started: `GET /_local/api-calls` (the management side; counts only, no data). */
const servedCalls = new WeakMap<LocalStepFunctions, Record<string, number>>();

async function handle(service: LocalStepFunctions, request: IncomingMessage, response: ServerResponse, credentials: LocalCredentials): Promise<void> {
  if (request.method === 'GET' && request.url === '/_local/api-calls') {
    send(response, 200, { ...servedCalls.get(service) });
    return;
  }
  let raw: Buffer;
  try {
    raw = await readBody(request);
  } catch (error) {
    send(response, 413, { __type: 'SerializationException', message: error instanceof Error ? error.message : 'Request body too large' });
    return;
  }
  const refusal = await sigV4Refusal(request, raw, 'states', credentials);
  if (refusal) {
    const type = /signature we calculated|Signature expired/.test(refusal) ? 'InvalidSignatureException' : 'UnrecognizedClientException';
    send(response, 403, { __type: type, message: refusal });
    return;
  }
  const target = request.headers['x-amz-target'];
  const action = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  const run = ACTIONS[action];
  if (request.method !== 'POST' || !run) {
    send(response, 400, { __type: 'UnknownOperationException', message: `Unsupported operation: ${String(target ?? request.method)}` });
    return;
  }
  let body: unknown;
  try {
    const text = raw.toString('utf8');
    body = text ? JSON.parse(text) : {};
  } catch (error) {
    send(response, 400, { __type: 'SerializationException', message: error instanceof Error ? error.message : 'Invalid JSON body' });
    return;
  }
  const counts = servedCalls.get(service) ?? {};
  counts[action] = (counts[action] ?? 0) + 1;
  servedCalls.set(service, counts);
  try {
    send(response, 200, await run(service, body as never));
  } catch (error) {
    if (error instanceof StepFunctionsError) {
      send(response, 400, { __type: error.name, message: error.message });
    } else {
      throw error;
    }
  }
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.once('end', () => (size > MAX_BODY_BYTES ? reject(new Error('Request body too large')) : resolve(Buffer.concat(chunks))));
    request.once('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: object): void {
  // The JSON protocol carries timestamps as epoch seconds with fractional milliseconds.
  const json = JSON.stringify(body, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : value;
  });
  response.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(json),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(json);
}
