import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../adapters/aws/s3-object-store';
import { DynamoExportRecords } from '../adapters/aws/dynamo-export-records';
import { DynamoExportProgress } from '../adapters/aws/dynamo-export-progress';
import { localDynamoClients } from '../infra/local/dynamodb/client';
import { startLocalDynamoTables } from '../infra/local/dynamodb/local-tables';
import { SqliteSearchSource } from '../adapters/local/sqlite-search';
import type { SearchSource } from '../core/ports';
import { report, sampleMemory, sampled } from './measure';
import { csvChunks, exportColumns } from '../core/export/csv';
import { generateCsvReport } from '../core/export/tasks';

/**
 * One phase of `npm run bench:export`, in its own process:
 *   baseline <dataDir>             read every row from the store and serialise it to CSV into a null sink
 *   pipeline <dataDir> <s3Url>     the export's real "Generate CSV report" into the local S3
 */
const [phase, dataDir, s3Endpoint] = process.argv.slice(2);
if (!phase || !dataDir) throw new Error('usage: export-phase.ts baseline|pipeline <dataDir> [s3Endpoint]');
const store = new SqliteSearchSource(join(dataDir, 'search.db'));
// Both phases read through this, so both are sampled the same way (see `sampled`).
const search: SearchSource = {
  search: (criteria, page) => store.search(criteria, page),
  scan: (criteria, options) => sampled(store.scan(criteria, options)),
  indexPosts: (posts) => store.indexPosts(posts),
  planSlices: (criteria, slices) => store.planSlices(criteria, slices),
};
sampleMemory();
const started = process.hrtime.bigint();

if (phase === 'baseline') {
  let bytes = 0;
  const counter = { rows: 0 };
  for await (const chunk of csvChunks(search.scan({}), exportColumns(), counter)) bytes += Buffer.byteLength(chunk);
  report(phase, counter.rows, bytes, started);
} else {
  const objects = new S3ObjectStore(
    new S3Client({ region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }),
  );
  // Progress goes to dynalite on disk as the local stack keeps it (its own directory), so its cost is part of the figures.
  const records = await startLocalDynamoTables({ dataDir: join(dataDir, 'bench-export'), serverlessYml: resolve(import.meta.dirname, '../serverless.yml') });
  const { client, documents } = localDynamoClients(records.endpoint);
  const result = await generateCsvReport(
    {
      search,
      objects,
      clock: { now: () => new Date() },
      exportProgress: new DynamoExportProgress(documents, records.tableName('ConnectionsTable')),
      exportJobs: new DynamoExportRecords(documents, records.tableName('JobsTable')),
      config: { exportsBucket: 'ferry-exports', exportTtlHours: 72 },
    },
    {
      exportId: `bench-${Date.now()}`,
      requestedBy: { userId: 'bench', username: 'bench', email: 'bench@ferry.local', groups: [] },
      delivery: 'direct',
      searchCriteria: {},
      requestedAt: new Date().toISOString(),
    },
  );
  await objects.delete(result.bucket, result.key);
  client.destroy();
  await records.close();
  report(phase, result.rowCount, result.bytes, started);
}
store.close();
