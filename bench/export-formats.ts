import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { exportColumns } from '../core/export/csv';
import { exportFileStream, fileExtensionOf, type ExportFileOptions } from '../core/export/file-format';
import type { Post } from '../core/model';
import { generatePosts } from '../infra/local/demo-data';

/**
 * `npm run bench:export-formats [rows]`: what each export file option costs to write, demo posts in 1,000-row
 * batches into a null sink (no store, no S3), against plain CSV in the same run. core/capacity.ts's
 * MAX_EXPORT_ROWS_ONE_TASK assumes ~150,000 rows/s for the whole export; a ratio here says how much of that
 * margin an option takes. Figures only: nothing fails on timing.
 */
const ROWS = Number(process.argv[2] ?? 300_000);
const BATCH = 1000;
const batches: Post[][] = [];
for (let start = 0; start < ROWS; start += BATCH) batches.push(generatePosts(start, Math.min(BATCH, ROWS - start)));

async function* replay(): AsyncIterable<Post[]> {
  yield* batches;
}

async function measure(options: ExportFileOptions): Promise<{ rowsPerSecond: number; bytes: number }> {
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done();
    },
  });
  const progress = { rows: 0 };
  const started = process.hrtime.bigint();
  await pipeline(exportFileStream(replay(), exportColumns(), options, progress), sink);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rowsPerSecond: progress.rows / seconds, bytes };
}

const variants: ExportFileOptions[] = [
  { format: 'csv', excel: false, gzip: false },
  { format: 'csv', excel: true, gzip: false },
  { format: 'ndjson', excel: false, gzip: false },
  { format: 'csv', excel: false, gzip: true },
  { format: 'ndjson', excel: false, gzip: true },
];

// A warm-up pass, so the baseline is not the one paying for the JIT.
await measure(variants[0]!);
const baseline = await measure(variants[0]!);
console.log(`${ROWS.toLocaleString('en')} rows per variant`);
for (const options of variants) {
  const result = options === variants[0] ? baseline : await measure(options);
  const name = `${fileExtensionOf(options)}${options.excel ? ' (excel)' : ''}`.padEnd(18);
  console.log(
    `${name} ${Math.round(result.rowsPerSecond).toLocaleString('en').padStart(10)} rows/s  ${(result.rowsPerSecond / baseline.rowsPerSecond).toFixed(2)}× csv  ${(result.bytes / 1024 / 1024).toFixed(1).padStart(7)} MiB  ${(result.bytes / baseline.bytes).toFixed(2)}× size`,
  );
}
