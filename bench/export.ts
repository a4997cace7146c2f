import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startLocalS3 } from '../infra/local/local-s3';
import { seedIfNeeded } from '../infra/local/seed';
import { argument, rate, runPhase } from './measure';

/**
 * `npm run bench:export -- --rows 1000000`: the export pipeline (store → CSV → S3 multipart upload to the
 * local S3) against a same-run baseline (store → CSV → null sink). Prints figures; never fails on them.
 */
const rows = Number(argument('rows', '1000000'));
const dataDir = resolve(argument('data-dir', `.data/bench-${rows}`));
mkdirSync(dataDir, { recursive: true });

console.log(`bench:export — ${rows.toLocaleString('en')} rows, store ${dataDir}`);
await seedIfNeeded(dataDir, rows);
const s3 = await startLocalS3({ dataDir, port: 0, buckets: ['ferry-exports'] });
try {
  const baseline = await runPhase('bench/export-phase.ts', ['baseline', dataDir]);
  const pipeline = await runPhase('bench/export-phase.ts', ['pipeline', dataDir, s3.endpoint]);
  const b = rate(baseline);
  const p = rate(pipeline);
  const row = (name: string, r: typeof baseline, x: typeof b) =>
    `${name.padEnd(34)} ${r.rows.toLocaleString('en').padStart(10)} rows ${r.seconds.toFixed(1).padStart(6)} s ${Math.round(x.rowsPerSecond).toLocaleString('en').padStart(9)} rows/s ${x.mbPerSecond.toFixed(1).padStart(6)} MB/s  peak RSS ${Math.round(r.peakRssMB)} MB (heap ${Math.round(r.peakHeapMB)}, buffers ${Math.round(r.peakExternalMB)})`;
  console.log(row('baseline: store → CSV → null sink', baseline, b));
  console.log(row('export: store → CSV → local S3', pipeline, p));
  const ratio = p.rowsPerSecond / b.rowsPerSecond;
  console.log(`ratio export/baseline: ${(ratio * 100).toFixed(0)}% (target ≥ 50%: ${ratio >= 0.5 ? 'met' : 'missed'})`);
  console.log(`export peak RSS: ${Math.round(pipeline.peakRssMB)} MB (target < 200 MB: ${pipeline.peakRssMB < 200 ? 'met' : 'missed'})`);
} finally {
  await s3.close();
}
