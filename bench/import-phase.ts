import { createReadStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { S3ObjectStore } from '../adapters/aws/s3-object-store';
import { ClamdScanner } from '../adapters/clamd/clamd-scanner';
import { DynamoAuditLog } from '../adapters/aws/dynamo-audit-log';
import { DynamoImportRecords } from '../adapters/aws/dynamo-import-records';
import { localDynamoClients } from '../infra/local/dynamodb/client';
import { startLocalDynamoTables } from '../infra/local/dynamodb/local-tables';
import { SqliteSearchSource } from '../adapters/local/sqlite-search';
import { TAG_SEPARATOR } from '../core/csv';
import { readFileSync, writeFileSync } from 'node:fs';
import { computeChecksum, identifyImportFormat, processImport, recordScanVerdicts, scanForViruses, scanVirusRange } from '../core/import/tasks';
import { mapLimit } from '../core/concurrency';
import { commitImportChunks, importChunk, planImportChunksToEnd, type ChunkPlanOutcome } from '../core/import/chunk-tasks';
import type { Post } from '../core/model';
import { report } from './measure';

/**
 * One phase of `npm run bench:import`, in its own process (for its own peak RSS):
 *   baseline <dir>                         parse <dir>/posts.csv from disk and insert the posts into a fresh store directly
 *   checksum|checksum:<stepBytes>|scan|format|process <dir> <s3Endpoint> <importId> [clamdPort]
 *                                          the import workflow's task, as the Lambda runs it, against the local S3,
 *                                          clamd, the records on dynalite and a fresh SQLite search store
 *   plan:<chunkBytes>|chunk:<n>|commit:<count> <dir> <s3Endpoint> <importId>
 *                                          the chunked import's tasks ("Plan the file's chunks", one chunk of
 *                                          "Import each chunk", "Assemble the error report and commit"); the
 *                                          plan is kept in <dir>/<importId>.plan.json for the chunks
 */
const [phase, dir, s3Endpoint, importId, clamdPort] = process.argv.slice(2);
if (!phase || !dir) throw new Error('usage: import-phase.ts <phase> <dir> [s3Endpoint importId [clamdPort]]');
const csvFile = join(dir, 'posts.csv');

if (phase === 'baseline') {
  const started = process.hrtime.bigint();
  const search = new SqliteSearchSource(join(dir, 'baseline-search.db'));
  let rows = 0;
  let batch: Post[] = [];
  const source = createReadStream(csvFile);
  let bytes = 0;
  source.on('data', (chunk) => (bytes += chunk.length));
  for await (const record of source.pipe(parse({ columns: true })) as AsyncIterable<Record<string, string>>) {
    rows++;
    batch.push({
      id: `baseline-${rows}`,
      userId: record.userId ?? '',
      dateCreated: record.dateCreated ?? '',
      content: record.content ?? '',
      tags: (record.tags ?? '').split(TAG_SEPARATOR),
    });
    if (batch.length === 1000) {
      await search.indexPosts(batch);
      batch = [];
    }
  }
  await search.indexPosts(batch);
  search.close();
  report(phase, rows, bytes, started);
} else {
  if (!s3Endpoint || !importId) throw new Error(`${phase} needs the S3 endpoint and the import id`);
  // The records on dynalite: served by bench/import.ts (BENCH_DYNAMO, so the chunks' processes share them), or under
  // <dir>/dynamodb as bench/import.ts left them (one phase process at a time holds LevelDB).
  const served = process.env.BENCH_DYNAMO ? (JSON.parse(process.env.BENCH_DYNAMO) as { endpoint: string; tables: Record<string, string> }) : undefined;
  const db = served
    ? { endpoint: served.endpoint, tableName: (name: string) => served.tables[name] ?? name, close: async () => undefined }
    : await startLocalDynamoTables({ dataDir: dir, serverlessYml: resolve(import.meta.dirname, '../serverless.yml') });
  const { documents } = localDynamoClients(db.endpoint);
  const imports = new DynamoImportRecords(documents, db.tableName('ImportsTable'));
  const objects = new S3ObjectStore(
    new S3Client({
      region: 'us-east-1',
      endpoint: s3Endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
  );
  const clock = { now: () => new Date() };
  const input = { importId, executionArn: 'arn:aws:states:us-east-1:000000000000:execution:ferry-import:bench' };
  const record = await imports.get(importId);
  const size = record?.size ?? 0;
  // A warm container: the SDK's lazily loaded parts are in before the clock starts, as in a warm Lambda.
  await objects.head(record?.upload.bucket ?? '', record?.upload.key ?? '');
  const started = process.hrtime.bigint();
  const cpuAtStart = process.cpuUsage();
  if (phase === 'checksum' || phase.startsWith('checksum:')) {
    // checksum:<stepBytes>: at most that many bytes per task, each step from the last one's progress, as "Checksum more of the file" loops.
    const deps = { imports, objects, clock, ...(phase === 'checksum' ? {} : { config: { checksumStepBytes: Number(phase.slice('checksum:'.length)) } }) };
    let outcome = await computeChecksum(deps, input);
    while ('progress' in outcome) outcome = await computeChecksum(deps, { ...input, progress: outcome.progress });
    if (outcome.verdict !== 'verified') throw new Error(`checksum ${outcome.verdict}`);
    report(phase, 0, outcome.bytes, started);
  } else if (phase === 'scan') {
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: Number(clamdPort) });
    const deps = { imports, objects, scanner, clock };
    const first = await scanForViruses(deps, input);
    // A file over one clamd stream: its ranges one after the other, as "Scan each range" with MaxConcurrency 1.
    const verdict =
      'ranges' in first
        ? await recordScanVerdicts(deps, { ...input, verdicts: await mapLimit(first.ranges, 1, (range) => scanVirusRange(deps, { ...input, range })) })
        : first;
    if (!verdict.clean) throw new Error(`the generated file is "infected": ${verdict.signature}`);
    report(phase, 0, size, started);
  } else if (phase === 'format') {
    const verdict = await identifyImportFormat({ imports, objects, clock, config: { importMappingTimeoutSeconds: 24 * 3600 } }, input);
    if (verdict.format !== 'csv') throw new Error(`format: ${verdict.reason}`);
    report(phase, 0, size, started);
  } else if (phase === 'process' || /^(plan|chunk|commit):\d+$/.test(phase)) {
    const [step, number] = phase.split(':') as [string, string | undefined];
    const config = {
      uploadsBucket: 'ferry-uploads',
      permanentBucket: 'ferry-imports',
      quarantineBucket: 'ferry-quarantine',
      maxImportBytes: 50 * 1024 ** 3,
      importMapConcurrency: 1,
      importMappingTimeoutSeconds: 24 * 3600,
      adminEmail: 'admin@ferry.local',
      appUrl: 'http://localhost:3000',
      ...(step === 'plan' ? { importChunkBytes: Number(number) } : {}),
    };
    // Each run of the bench has its own store, named after its import (the chunks of one import share it).
    const search = new SqliteSearchSource(join(dir, `pipeline-search-${importId}.db`));
    const deps = { imports, objects, search, audit: new DynamoAuditLog(documents, db.tableName('AuditTable')), clock, config };
    const file = { ...input, format: 'csv' as const };
    const planFile = join(dir, `${importId}.plan.json`);
    if (step === 'plan') {
      const plan = await planImportChunksToEnd(deps, file);
      writeFileSync(planFile, JSON.stringify(plan));
      report(phase, 0, size, started, cpuAtStart);
    } else if (step === 'chunk') {
      const plan = JSON.parse(readFileSync(planFile, 'utf8')) as ChunkPlanOutcome;
      const chunk = plan.chunks[Number(number)];
      if (!chunk) throw new Error(`no chunk ${number}`);
      await importChunk(deps, { ...file, chunk, headerBytes: plan.headerBytes });
      report(phase, 0, chunk.end - chunk.start, started, cpuAtStart);
    } else {
      const outcome = step === 'commit' ? await commitImportChunks(deps, { ...file, chunkCount: Number(number) }) : await processImport(deps, file);
      if (outcome.status !== 'SUCCEEDED') throw new Error(`${phase}: ${outcome.status}`);
      report(phase, outcome.rowsImported, size, started, cpuAtStart);
    }
    search.close();
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  // The server would keep the process alive; the next phase opens the same LevelDB.
  await db.close();
}
