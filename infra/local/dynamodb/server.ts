import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';

/**
 * The local stack's DynamoDB: dynalite (LevelDB behind the DynamoDB JSON API), so the AWS adapters run
 * unchanged against it. It validates requests as DynamoDB does (expressions, key types, item size),
 * but has no TTL expiry (see tables.ts: sweepExpiredItems), no transactions and no streams.
 */
export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`, for the SDK client's `endpoint`. */
  endpoint: string;
  /** Why it cannot answer (its process exited); undefined while it can. Absent: it runs in the caller's process. */
  failure?(): string | undefined;
  close(): Promise<void>;
}

export interface LocalDynamoOptions {
  /** Tables live under `<dataDir>/dynamodb` and survive a restart; absent: in memory (tests). */
  dataDir?: string;
  /** Absent or 0: any free port. */
  port?: number;
}

export const localDynamoPath = (dataDir: string): string => join(dataDir, 'dynamodb');

export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const path = options.dataDir === undefined ? undefined : localDynamoPath(options.dataDir);
  if (path) mkdirSync(path, { recursive: true });
  // Tables become ACTIVE at once: the default 500 ms per CreateTable would only slow start-up and tests.
  const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Binding port 0 here (rather than asking freePort for a number first) leaves no window for another process to take it.
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        // dynalite's close waits for in-flight requests, then closes LevelDB; idle keep-alive sockets would hold it open.
        server.close((error?: Error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      })),
  };
}
