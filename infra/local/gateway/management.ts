/**
 * The WebSocket management API (`POST|GET|DELETE /@connections/{id}`) on its own loopback port, never the
 * public one: only a caller signing with the local credentials (SigV4, service execute-api) may push to or
 * close a connection, as in AWS where it takes IAM's execute-api:ManageConnections.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localCredentials, sigV4Refusal } from '../sigv4-verify';
import { readBody, send } from './http';

const RESOURCE = /^\/@connections\/([^/?]+)$/;

export type ManageConnection = (method: string, connectionId: string, body: Buffer) => { statusCode: number; body: unknown; headers?: Record<string, string> };

export async function startManagementApi(manage: ManageConnection, { host = '127.0.0.1', port = 0 }: { host?: string; port?: number } = {}) {
  const credentials = localCredentials();
  const server = createServer((req, res) => {
    (async () => {
      const body = await readBody(req);
      const refusal = await sigV4Refusal(req, body, 'execute-api', credentials);
      if (refusal) return send(res, 403, { message: refusal }, { 'x-amzn-errortype': 'ForbiddenException' });
      const id = RESOURCE.exec((req.url ?? '').split('?')[0] ?? '')?.[1];
      let connectionId: string | undefined;
      try {
        connectionId = id === undefined ? undefined : decodeURIComponent(id);
      } catch {
        connectionId = undefined;
      }
      if (connectionId === undefined) return send(res, 404, { message: 'Not Found' }, { 'x-amzn-errortype': 'NotFoundException' });
      const answer = manage(req.method ?? 'GET', connectionId, body);
      return send(res, answer.statusCode, answer.body, answer.headers);
    })().catch((error: unknown) => {
      const statusCode = (error as { statusCode?: number }).statusCode ?? 500;
      if (statusCode === 500) console.error('[management api]', error);
      if (!res.headersSent) send(res, statusCode, { message: error instanceof Error ? error.message : 'Internal server error' });
      else res.end();
    });
  });
  await new Promise<void>((resolvePromise) => server.listen(port, host, resolvePromise));
  const bound = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}
