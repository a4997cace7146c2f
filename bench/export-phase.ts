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
import { readFileSync, writeFileSync } from 'node:fs';
import type { ExportJob } from '../core/export/job';
import type { ExportSlicing, SliceWritten } from '../core/export/slices';
import { assembleExportFile, generateCsvReport, planExportSlices, writeExportSlice } from '../core/export/tasks';

/**
 * One phase of `npm run bench:export`, in its own process:
 *   baseline <dataDir>             read every row from the store and serialise it to CSV into a null sink
 *   pipeline <dataDir> <s3Url>     the export's real "Generate CSV report" into the local S3
 *   plan <dataDir> <s3Url> <slices> <planFile>      "Plan the export's slices" for that many slices
 *   slice <dataDir> <s3Url> <index> <planFile>      "Write one slice" of that plan (one process per slice, as Lambda runs them)
 *   assemble <dataDir> <s3Url> - <planFile>         "Assemble the export file" from the slices' results beside the plan
 */
const [phase, dataDir, s3Endpoint, phaseArg, planFile] = process.argv.slice(2);
if (!phase || !dataDir) throw new Error('usage: export-phase.ts baseline|pipeline|plan|slice|assemble <dataDir> [s3Endpoint] …');
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
  const records = await startLocalDynamoTables({
    dataDir: join(dataDir, `bench-export-${phase}${phase === 'slice' ? `-${phaseArg}` : ''}`),
    serverlessYml: resolve(import.meta.dirname, '../serverless.yml'),
  });
  const { client, documents } = localDynamoClients(records.endpoint);
  const exportProgress = new DynamoExportProgress(documents, records.tableName('ConnectionsTable'));
  const exportJobs = new DynamoExportRecords(documents, records.tableName('JobsTable'));
  const clock = { now: () => new Date() };
  const job: ExportJob = {
    exportId: planFile ? `bench-sliced` : `bench-${Date.now()}`,
    requestedBy: { userId: 'bench', username: 'bench', email: 'bench@ferry.local', groups: [] },
    delivery: 'direct',
    searchCriteria: {},
    requestedAt: '2026-01-01T00:00:00.000Z',
  };
  const begun = process.hrtime.bigint();
  const config = { exportsBucket: 'ferry-exports', exportTtlHours: 72 };
  if (phase === 'pipeline') {
    const result = await generateCsvReport({ search, objects, clock, exportProgress, exportJobs, config }, job);
    await objects.delete(result.bucket, result.key);
    report(phase, result.rowCount, result.bytes, begun);
  } else if (phase === 'plan') {
    const total = (await search.search({}, { page: 1, pageSize: 1 })).total;
    const slices = Number(phaseArg);
    const sliceConfig = { ...config, exportSliceRows: Math.ceil(total / slices), exportSliceConcurrency: slices };
    const slicing = await planExportSlices({ search, objects, clock, exportProgress, config: sliceConfig }, { ...job, report: { sliced: true, totalRows: total } });
    writeFileSync(planFile!, JSON.stringify(slicing));
    report(phase, slicing.slices.length, 0, begun);
  } else if (phase === 'slice') {
    const slicing = JSON.parse(readFileSync(planFile!, 'utf8')) as ExportSlicing;
    const slice = slicing.slices[Number(phaseArg)]!;
    const written = await writeExportSlice({ search, objects, clock, exportProgress, exportJobs }, { job: { ...job, slicing }, slice });
    writeFileSync(`${planFile}.${phaseArg}`, JSON.stringify(written));
    report(phase, written.rows, written.bytes, begun);
  } else {
    const slicing = JSON.parse(readFileSync(planFile!, 'utf8')) as ExportSlicing;
    const written = slicing.slices.map((slice) => JSON.parse(readFileSync(`${planFile}.${slice.slice}`, 'utf8')) as SliceWritten);
    const result = await assembleExportFile({ objects, clock, exportJobs, config }, { ...job, slicing: { ...slicing, written } });
    await objects.delete(result.bucket, result.key);
    report(phase, result.rowCount, result.bytes, begun);
  }
  client.destroy();
  await records.close();
}
store.close();
