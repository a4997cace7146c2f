import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoImportRecords } from '../adapters/aws/dynamo-import-records';
import { PENDING_CHECKS, type ImportRecord } from '../core/import/records';
import { localDynamoClients } from '../infra/local/dynamodb/client';
import { startLocalDynamo } from '../infra/local/dynamodb/server';
import { readTableResources } from '../infra/local/dynamodb/table-resources';
import { ensureTables, localTableNames } from '../infra/local/dynamodb/tables';
import { argument } from './measure';

/**
 * `npx tsx bench/dynamo.ts [--ops 2000] [--concurrency 8]`: what the local records on dynalite cost. Puts
 * and gets of an export-progress item through the DocumentClient, and import-record updates through the
 * Dynamo adapter, each sequential and N-way concurrent, on LevelDB on disk (as `npm start` keeps it) beside
 * the same-run in-memory dynalite (as the tests run it). Prints figures; never fails on them.
 * Before the SQLite records retired (--ops 500, 2 shared cores, under load): SQLite 3,326 puts/s, 5,388 gets/s,
 * 4,905 updates/s sequentially; dynalite on disk 151, 267 and 655 (5–13 % of SQLite).
 */
const ops = Number(argument('ops', '2000'));
const concurrency = Number(argument('concurrency', '8'));
const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-dynamo-'));

type Op = (i: number) => Promise<unknown>;

async function opsPerSecond(op: Op, parallel: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < ops; i = next++) await op(i);
    }),
  );
  return ops / ((performance.now() - started) / 1000);
}

const progress = (i: number) => ({ rowsWritten: i * 1000, totalRows: 1_000_000, updatedAt: new Date().toISOString() });
const record = (importId: string): ImportRecord => ({
  importId,
  owner: { userId: 'user-alice', username: 'alice', email: 'alice@example.com' },
  fileName: `${importId}.csv`,
  size: 1234,
  contentType: 'text/csv',
  delivery: 'direct',
  status: 'RUNNING',
  checks: { ...PENDING_CHECKS },
  upload: { bucket: 'ferry-uploads', key: `uploads/user-alice/${importId}/r`, method: 'post' },
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
});
const checks = ['antivirus', 'checksum', 'format'] as const;
const checkChange = (i: number) => ({ checks: { [checks[i % 3]!]: i % 3 === 0 ? 'clean' : i % 3 === 1 ? 'verified' : 'csv' } });

interface Workload {
  put: Op;
  get: Op;
  /** One check's result on an import record (the import's per-file write), on one of 100 records. */
  update: Op;
}

async function measure(name: string, workload: Workload): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  for (const [label, op] of [['put', workload.put], ['get', workload.get], ['update', workload.update]] as const) {
    figures[`${label} ×1`] = await opsPerSecond(op, 1);
    figures[`${label} ×${concurrency}`] = await opsPerSecond(op, concurrency);
  }
  console.log(`${name.padEnd(30)} ${Object.entries(figures).map(([k, v]) => `${k} ${Math.round(v).toLocaleString('en').padStart(6)}/s`).join('  ')}`);
  return figures;
}

async function dynaliteWorkload(dataDir: string | undefined): Promise<{ workload: Workload; close(): Promise<void> }> {
  const dynamo = await startLocalDynamo(dataDir ? { dataDir } : {});
  const { client, documents } = localDynamoClients(dynamo.endpoint);
  const tables = readTableResources(resolve(import.meta.dirname, '../serverless.yml'));
  const names = localTableNames(tables);
  await ensureTables(client, tables, names);
  const imports = new DynamoImportRecords(documents, names.ImportsTable!);
  await imports.create(Array.from({ length: 100 }, (_, i) => record(`r-${i}`)));
  const TableName = names.ConnectionsTable!;
  const key = (i: number) => ({ pk: `PROGRESS#export-${i % 500}`, sk: 'PROGRESS' });
  return {
    workload: {
      put: (i) => documents.send(new PutCommand({ TableName, Item: { ...key(i), ...progress(i), expiresAt: Math.floor(Date.now() / 1000) + 86400 } })),
      get: (i) => documents.send(new GetCommand({ TableName, Key: key(i) })),
      update: (i) => imports.update(`r-${i % 100}`, checkChange(i), new Date()),
    },
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

console.log(`bench/dynamo — ${ops.toLocaleString('en')} operations per figure, concurrency ${concurrency}, Node ${process.version}`);
try {
  const results: [string, Record<string, number>][] = [];
  for (const [name, dataDir] of [['dynalite, in memory', undefined], ['dynalite, LevelDB on disk', join(dir, 'data')]] as const) {
    const { workload, close } = await dynaliteWorkload(dataDir);
    try {
      results.push([name, await measure(name, workload)]);
    } finally {
      await close();
    }
  }
  const [[, baseline], [name, figures]] = results as [[string, Record<string, number>], [string, Record<string, number>]];
  const ratios = Object.entries(figures).map(([k, v]) => `${k} ${((v / baseline[k]!) * 100).toFixed(1)}%`);
  console.log(`ratio ${name} / in memory: ${ratios.join('  ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
