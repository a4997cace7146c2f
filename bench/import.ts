import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../adapters/aws/s3-object-store';
import { DynamoImportRecords } from '../adapters/aws/dynamo-import-records';
import { localDynamoClients } from '../infra/local/dynamodb/client';
import { startLocalDynamoTables } from '../infra/local/dynamodb/local-tables';
import { PENDING_CHECKS } from '../core/import/records';
import { uploadKey } from '../core/import/upload-policy';
import { findClamd, startClamd } from '../infra/local/clamd/start-clamd';
import { startLocalS3 } from '../infra/local/local-s3';
import { argument, rate, runPhase, type PhaseResult } from './measure';
import { freePort } from '../infra/local/free-port';
import { SqliteSearchSource } from '../adapters/local/sqlite-search';
import { planChunksStep, type PlanProgress, type PlanStep } from '../core/import/chunks';
import { DEFAULT_IMPORT_CHUNK_BYTES, DEFAULT_IMPORT_PLAN_STEP_BYTES } from '../core/import/config';
import { IMPORT_INDEX_BATCH } from '../core/import/tasks';
import { MAX_RECORD_BYTES } from '../core/import/rows';
import { MAX_IMPORT_CHUNKS } from '../core/import/chunk-tasks';

/**
 * `npm run bench:import -- --rows 1000000`: a generated CSV through the import workflow's real tasks
 * (checksum, antivirus scan, format, processing) against the local stack's adapters (local S3, clamd,
 * records on dynalite and the SQLite search store), each in its own process, beside same-run baselines: parsing the file
 * and inserting into the store directly, the `sqlite3` shell loading the same file into the same store shape (the
 * ceiling), and `sha256sum` on the same file. Prints figures; never fails on them.
 */
/**
 * `npm run bench:import -- --plan-gib 4`: only the chunk planner ("Plan the file's chunks"), on a generated CSV of that
 * many GiB whose quoted cells hold newlines, read from a local file in IMPORT_PLAN_STEP_BYTES steps as the state
 * machine runs it (the progress through JSON between steps). Prints MB/s, peak RSS, and the projection for 50 GiB.
 */
const planGib = argument('plan-gib', '');
if (planGib) {
  await benchPlanner(Number(planGib), Number(argument('plan-step-bytes', String(DEFAULT_IMPORT_PLAN_STEP_BYTES))));
  process.exit(0);
}

const rows = Number(argument('rows', '1000000'));
const dir = resolve(argument('data-dir', `.data/bench-import-${rows}`));
const csvFile = join(dir, 'posts.csv');
/** `--cpu-prof <dir>`: a V8 CPU profile of the processing phase, for the split of its time (see the README). */
const cpuProfileAt = process.argv.indexOf('--cpu-prof');
const cpuProfileArg = process.argv[cpuProfileAt + 1];
const cpuProfileDir =
  cpuProfileAt < 0 ? undefined : resolve(cpuProfileArg && !cpuProfileArg.startsWith('--') ? cpuProfileArg : join(dir, 'profiles'));
mkdirSync(dir, { recursive: true });

console.log(`bench:import — ${rows.toLocaleString('en')} rows, in ${dir}`);
if (!existsSync(csvFile)) await generateCsv(csvFile, rows);
const bytes = statSync(csvFile).size;
console.log(`file: ${(bytes / 1e6).toFixed(1)} MB`);
rmSync(join(dir, 'dynamodb'), { recursive: true, force: true });
for (const file of readdirSync(dir).filter((name) => /^(baseline|pipeline|ceiling)-search.*\.db(-wal|-shm)?$|\.plan\.json$/.test(name))) {
  rmSync(join(dir, file), { force: true });
}

const sha = spawnSync('sha256sum', [csvFile], { encoding: 'utf8' });
const shaStarted = process.hrtime.bigint();
const shaRun = spawnSync('sha256sum', [csvFile], { encoding: 'utf8' });
const shaSeconds = Number(process.hrtime.bigint() - shaStarted) / 1e9;
const sha256 = (shaRun.stdout || sha.stdout).split(' ')[0] ?? '';

const s3 = await startLocalS3({ dataDir: dir, port: 0, buckets: ['ferry-uploads', 'ferry-imports', 'ferry-quarantine'] });
const clamd = findClamd() ? await startClamd({ dataDir: dir, port: await freePort() }) : undefined;
let closeRecords: (() => Promise<void>) | undefined;
try {
  const importId = `bench-${Date.now()}`;
  const objects = new S3ObjectStore(
    new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
  );
  // Served from here while the phases run (BENCH_DYNAMO): the processes of one chunked import share the records.
  const records = await startLocalDynamoTables({ dataDir: dir, serverlessYml: resolve(import.meta.dirname, '../serverless.yml') });
  const recordClients = localDynamoClients(records.endpoint);
  closeRecords = async () => {
    recordClients.client.destroy();
    await records.close();
  };
  process.env.BENCH_DYNAMO = JSON.stringify({
    endpoint: records.endpoint,
    tables: { ImportsTable: records.tableName('ImportsTable'), AuditTable: records.tableName('AuditTable') },
  });
  /** An upload of the file and its record, RUNNING with its checks pending, as each run of the processing starts from. */
  const newImport = async (id: string) => {
    const uploadAt = uploadKey('bench', id, 'upload');
    await objects.putStream('ferry-uploads', uploadAt, createReadStream(csvFile), { contentType: 'text/csv' });
    const now = new Date().toISOString();
    await new DynamoImportRecords(recordClients.documents, records.tableName('ImportsTable')).create([
      {
        importId: id,
        // An admin's upload: the generated rows name 5,000 other authors (an on-behalf import), so every row is checked and staged.
        owner: { userId: 'bench', username: 'bench', email: 'bench@ferry.local', admin: true },
        fileName: 'posts.csv',
        size: bytes,
        contentType: 'text/csv',
        sha256,
        delivery: 'direct',
        status: 'RUNNING',
        checks: { ...PENDING_CHECKS },
        upload: { bucket: 'ferry-uploads', key: uploadAt, method: 'post' },
        createdAt: now,
        updatedAt: now,
        uploadedAt: now,
        // As the object-created event records it: the size the stepwise checksum reads the file in ranges of.
        uploadedBytes: bytes,
      },
    ]);
  };
  await newImport(importId);

  const phase = (name: string, options: { cpuProfileDir?: string; id?: string } = {}) =>
    runPhase('bench/import-phase.ts', [name, dir, s3.endpoint, options.id ?? importId, String(clamd?.port ?? 0)], options);
  const checksum = await phase('checksum');
  /** `--checksum-step-bytes N`: the checksum again, N bytes per task (CHECKSUM_STEP_BYTES), the hash's state carried between them. */
  const checksumStepBytes = Number(argument('checksum-step-bytes', '0'));
  const steppedChecksum = checksumStepBytes > 0 ? await phase(`checksum:${checksumStepBytes}`) : undefined;
  const scan = clamd ? await phase('scan') : undefined;
  const format = await phase('format');
  const baseline = await runPhase('bench/import-phase.ts', ['baseline', dir]);
  const ceiling = sqliteShellCeiling(csvFile, join(dir, 'ceiling-search.db'));
  const processed = await phase('process', cpuProfileDir ? { cpuProfileDir } : {});

  /**
   * `--chunks 1,2`: the processing again per chunk count, each on a fresh upload and store. 1 is the one-piece task
   * ("Import valid rows"); N > 1 is the chunked import: the plan (IMPORT_CHUNK_BYTES = size / N), N chunk processes side
   * by side (as "Import each chunk" runs N Lambdas), then the commit.
   */
  const chunkRuns: Array<{ chunks: number; rows: number; seconds: number; peakRssMB: number; steps: string }> = [];
  for (const chunks of argument('chunks', '').split(',').filter(Boolean).map(Number)) {
    const id = `${importId}-c${chunks}`;
    await newImport(id);
    // Seconds as the tasks measure them (a process's start-up is left out, as a warm Lambda's): the plan, the slowest
    // chunk (they run side by side), the commit.
    if (chunks === 1) {
      const one = await phase('process', { id });
      chunkRuns.push({ chunks, rows: one.rows, seconds: one.seconds, peakRssMB: one.peakRssMB, steps: 'one task' });
      continue;
    }
    const plan = await phase(`plan:${Math.ceil(bytes / chunks)}`, { id });
    const parts = await Promise.all(Array.from({ length: chunks }, (_, i) => phase(`chunk:${i}`, { id })));
    const commit = await phase(`commit:${chunks}`, { id });
    chunkRuns.push({
      chunks,
      rows: commit.rows,
      seconds: plan.seconds + Math.max(...parts.map((part) => part.seconds)) + commit.seconds,
      peakRssMB: Math.max(plan.peakRssMB, commit.peakRssMB, ...parts.map((part) => part.peakRssMB)),
      steps: `plan ${plan.seconds.toFixed(1)} s, chunks ${parts.map((part) => part.seconds.toFixed(1)).join(' / ')} s, commit ${commit.seconds.toFixed(1)} s`,
    });
  }

  const mbps = (r: PhaseResult) => `${rate(r).mbPerSecond.toFixed(1).padStart(7)} MB/s`;
  const rss = (r: PhaseResult) => `peak RSS ${Math.round(r.peakRssMB)} MB`;
  const rowsLine = (name: string, r: PhaseResult) =>
    `${name.padEnd(46)} ${r.rows.toLocaleString('en').padStart(10)} rows ${r.seconds.toFixed(1).padStart(6)} s ${Math.round(rate(r).rowsPerSecond).toLocaleString('en').padStart(9)} rows/s  ${rss(r)}`;
  console.log('');
  console.log(rowsLine('baseline: parse file → insert into store', baseline));
  console.log(rowsLine('import: local S3 → validate → index + report', processed));
  const ratio = rate(processed).rowsPerSecond / rate(baseline).rowsPerSecond;
  console.log(`ratio import/baseline: ${(ratio * 100).toFixed(0)}% (target ≥ 50%: ${ratio >= 0.5 ? 'met' : 'missed'})`);
  const ceilingRate = rows / ceiling.seconds;
  console.log(
    `${'ceiling: sqlite3 shell .import → posts + words + tags'.padEnd(46)} ${rows.toLocaleString('en').padStart(10)} rows ${ceiling.seconds.toFixed(1).padStart(6)} s ${Math.round(ceilingRate).toLocaleString('en').padStart(9)} rows/s  CPU ${ceiling.cpuSeconds.toFixed(1)} s`,
  );
  const ceilingRatio = rate(processed).rowsPerSecond / ceilingRate;
  // By CPU as well: on a shared machine the two run under different loads, and the wall-time ratio drifts with them.
  const cpuRatio = processed.cpuSeconds ? ceiling.cpuSeconds / processed.cpuSeconds : undefined;
  console.log(
    `ratio import/sqlite3 shell: ${(ceilingRatio * 100).toFixed(0)}% by wall time${cpuRatio === undefined ? '' : `, ${(cpuRatio * 100).toFixed(0)}% by CPU (import CPU ${processed.cpuSeconds?.toFixed(1)} s)`} (target ≥ 50%: ${ceilingRatio >= 0.5 ? 'met' : 'missed'})`,
  );
  for (const run of chunkRuns) {
    const perSecond = run.rows / run.seconds;
    console.log(
      `${`chunks ${run.chunks}: import, ${run.steps}`.padEnd(46)} ${run.rows.toLocaleString('en').padStart(10)} rows ${run.seconds.toFixed(1).padStart(6)} s ${Math.round(perSecond).toLocaleString('en').padStart(9)} rows/s  peak RSS ${Math.round(run.peakRssMB)} MB per process, ${((perSecond / ceilingRate) * 100).toFixed(0)}% of the sqlite3 shell`,
    );
  }
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (${cpus().length} cores)`);
  const checks = [checksum, format, ...(scan ? [scan] : [])];
  const checksSeconds = Math.max(...checks.map((r) => r.seconds));
  const endToEnd = rows / (checksSeconds + processed.seconds);
  console.log(`end to end (the three checks in parallel, then processing): ${Math.round(endToEnd).toLocaleString('en')} rows/s`);
  console.log('');
  const shaMbps = bytes / 1e6 / shaSeconds;
  console.log(
    `${'baseline: sha256sum on the file'.padEnd(46)} ${shaSeconds.toFixed(1).padStart(6)} s ${shaMbps.toFixed(1).padStart(7)} MB/s`,
  );
  console.log(
    `${'checksum: local S3 → SHA-256'.padEnd(46)} ${checksum.seconds.toFixed(1).padStart(6)} s ${mbps(checksum)}  ${rss(checksum)}`,
  );
  const shaRatio = rate(checksum).mbPerSecond / shaMbps;
  console.log(`ratio checksum/sha256sum: ${(shaRatio * 100).toFixed(0)}% (target ≥ 80%: ${shaRatio >= 0.8 ? 'met' : 'missed'})`);
  if (steppedChecksum) {
    const steps = Math.ceil(bytes / checksumStepBytes);
    console.log(
      `${`checksum in ${steps} step(s) of ${checksumStepBytes} B`.padEnd(46)} ${steppedChecksum.seconds.toFixed(1).padStart(6)} s ${mbps(steppedChecksum)}  ${rss(steppedChecksum)}, ${((rate(steppedChecksum).mbPerSecond / rate(checksum).mbPerSecond) * 100).toFixed(0)}% of one pass`,
    );
  }
  if (scan)
    console.log(`${'scan: local S3 → clamd INSTREAM'.padEnd(46)} ${scan.seconds.toFixed(1).padStart(6)} s ${mbps(scan)}  ${rss(scan)}`);
  else console.log('scan: skipped, clamd is not installed (apt-get install -y clamav-daemon)');
  console.log(`${'format: first bytes from local S3'.padEnd(46)} ${format.seconds.toFixed(1).padStart(6)} s  ${rss(format)}`);
  const peak = Math.max(...[...checks, processed].map((r) => r.peakRssMB));
  console.log(
    `import peak RSS: ${Math.round(peak)} MB for a ${(bytes / 1e6).toFixed(0)} MB file (target < 250 MB: ${peak < 250 ? 'met' : 'missed'})`,
  );
} finally {
  await closeRecords?.();
  await clamd?.stop();
  await s3.close();
}

/**
 * The ceiling for the processing phase: the `sqlite3` command-line shell loads the same CSV into the store
 * shape SqliteSearchSource creates (its own constructor makes the schema, with its pragmas): `.import` into a
 * scratch table (the staging), then one INSERT…SELECT each into `posts`, `post_words` (the lowercased content:
 * the shell cannot run Ferry's word rules, and the `ascii` tokenizer splits at punctuation) and `post_tags`.
 * No validation, no error report, no records: what the same engine does with the same rows at best.
 */
function sqliteShellCeiling(csvFile: string, dbFile: string): { seconds: number; cpuSeconds: number } {
  new SqliteSearchSource(dbFile).close();
  const script = `
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -16384;
CREATE TABLE ceiling_rows (user_id TEXT, date_created TEXT, content TEXT, tags TEXT);
.import --csv --skip 1 '${csvFile}' ceiling_rows
BEGIN;
INSERT INTO posts (id, user_id, created_ms, date_created, content, tags)
  SELECT 'ceiling-' || rowid, user_id, CAST(round((julianday(date_created) - 2440587.5) * 86400000) AS INTEGER), date_created, content,
         '["' || replace(tags, ';', '","') || '"]' FROM ceiling_rows;
INSERT INTO post_words (rowid, words) SELECT rowid, lower(content) FROM posts;
INSERT OR IGNORE INTO post_tags (tag, post_rowid) SELECT t.value, p.rowid FROM posts p, json_each(p.tags) t;
DROP TABLE ceiling_rows;
COMMIT;
SELECT count(*) FROM posts;
`;
  const started = process.hrtime.bigint();
  // bash's `time` reports the shell's CPU (user, system) on stderr; Node cannot read a child's rusage.
  const run = spawnSync('bash', ['-c', 'TIMEFORMAT="cpu %U %S"; time sqlite3 -bail "$0"', dbFile], { input: script, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(run.stderr);
  if (run.status !== 0 || !cpu) throw new Error(`sqlite3 shell: ${run.stderr || run.error?.message || `exit ${run.status}`}`);
  return { seconds, cpuSeconds: Number(cpu[1]) + Number(cpu[2]) };
}

/** Deterministic posts, every one valid; about 110 bytes a row. */
async function generateCsv(file: string, count: number): Promise<void> {
  const words = ['ferry', 'harbour', 'tide', 'crossing', 'deck', 'ticket', 'island', 'captain', 'weather', 'timetable', 'cargo', 'port'];
  const out = createWriteStream(file);
  out.write('userId,dateCreated,content,tags\n');
  const start = Date.UTC(2020, 0, 1);
  for (let i = 1; i <= count; i++) {
    const a = words[i % words.length];
    const b = words[(i * 7) % words.length];
    const line = `user-${i % 5000},${new Date(start + i * 37_000).toISOString()},"Post ${i} about the ${a} and the ${b}, imported",${a};${b}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}


async function benchPlanner(gib: number, stepBytes: number): Promise<void> {
  const file = resolve(argument('plan-file', `/tmp/ferry-plan-${gib}gib.csv`));
  const target = Math.round(gib * 2 ** 30);
  if (!existsSync(file) || statSync(file).size < target) await generateMultilineCsv(file, target);
  const size = statSync(file).size;
  console.log(`bench:import --plan-gib — ${(size / 2 ** 30).toFixed(2)} GiB CSV with multi-line quoted cells at ${file}`);
  // A baseline in the same run: reading the file alone (the page cache warm for both).
  const readStarted = process.hrtime.bigint();
  for await (const piece of createReadStream(file, { highWaterMark: 1 << 20 })) void piece;
  const readSeconds = Number(process.hrtime.bigint() - readStarted) / 1e9;
  const read = async ({ start, end }: { start: number; end: number }) =>
    createReadStream(file, { start, end: end - 1, highWaterMark: 1 << 20 });
  const options = {
    format: 'csv' as const,
    encoding: 'utf-8' as const,
    delimiter: ',' as const,
    size,
    chunkBytes: DEFAULT_IMPORT_CHUNK_BYTES,
    batchRows: IMPORT_INDEX_BATCH,
    maxRecordBytes: MAX_RECORD_BYTES,
    maxChunks: MAX_IMPORT_CHUNKS,
  };
  const started = process.hrtime.bigint();
  let progress: PlanProgress | undefined;
  let steps = 0;
  let step: PlanStep;
  let stateBytes = 0;
  for (;;) {
    step = await planChunksStep(read, options, progress, stepBytes);
    steps++;
    if ('plan' in step) break;
    const json = JSON.stringify(step.progress);
    stateBytes = Math.max(stateBytes, json.length);
    progress = JSON.parse(json) as PlanProgress;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const mbps = size / 1e6 / seconds;
  const fifty = 50 * 2 ** 30;
  console.log(`read alone: ${(size / 1e6 / readSeconds).toFixed(0)} MB/s`);
  console.log(
    `planner: ${seconds.toFixed(1)} s, ${mbps.toFixed(0)} MB/s (${((mbps / (size / 1e6 / readSeconds)) * 100).toFixed(0)}% of reading alone), ` +
      `${steps} step(s) of ${(stepBytes / 2 ** 30).toFixed(2)} GiB, ${step.plan.chunks.length} chunks` +
      `${step.plan.oneChunkBecause ? ` (one chunk: ${step.plan.oneChunkBecause})` : ''}, largest progress state ${stateBytes} B, ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
  const s3Rate = 100; // MB/s: a conservative single-stream S3 GET in a Lambda
  const perByte = 1 / (mbps * 1e6) + 1 / (s3Rate * 1e6); // scanning does not overlap the read in the worst case
  console.log(
    `projection, 50 GiB: ${(fifty / (mbps * 1e6)).toFixed(0)} s of scanning at this rate; with a ${s3Rate} MB/s S3 read not overlapped, ` +
      `${(fifty * perByte).toFixed(0)} s in all, ${Math.ceil((fifty * perByte) / 600)} step(s) of <= 600 s; ` +
      `one step of ${(stepBytes / 2 ** 30).toFixed(2)} GiB ~ ${(stepBytes * perByte).toFixed(0)} s (ceiling 900 s)`,
  );
  if (!process.argv.includes('--keep-plan-file')) rmSync(file, { force: true });
}

/** Rows with a quoted cell holding newlines and doubled quotes, repeated in 1 MiB blocks up to `bytes`. */
async function generateMultilineCsv(file: string, bytes: number): Promise<void> {
  const rowsOf = (n: number, from: number) =>
    Array.from(
      { length: n },
      (_, k) =>
        `user-${(from + k) % 5000},2024-01-01T00:00:00.000Z,"Post ${from + k}, on two lines:\nthe ""ferry"" and\nthe harbour",ferry;tide\n`,
    ).join('');
  const block = Buffer.from(rowsOf(9000, 0));
  const out = createWriteStream(file);
  out.write('userId,dateCreated,content,tags\n');
  for (let written = 0; written < bytes; written += block.length) if (!out.write(block)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}
