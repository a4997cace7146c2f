import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startLocalS3 } from '../infra/local/local-s3';
import { seedIfNeeded } from '../infra/local/seed';
import { join } from 'node:path';
import { argument, rate, runPhase, type PhaseResult } from './measure';
import { TASK_TIMEOUT_SECONDS, EXPORT_SLICE_ROWS_DEFAULT } from '../core/capacity';
import { MAX_SLICES } from '../core/export/slices';

/**
 * `npm run bench:export -- --rows 1000000 [--slices 1,2]`: the export pipeline (store → CSV → S3 multipart upload
 * to the local S3) against a same-run baseline (store → CSV → null sink). With --slices, the sliced export for each
 * slice count: plan, the slices at once (one process each, as Lambda runs them), assembly. Prints figures; never fails on them.
 */
const rows = Number(argument('rows', '1000000'));
const sliceCounts = argument('slices', '')
  .split(',')
  .filter(Boolean)
  .map(Number);
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
  for (const count of sliceCounts) {
    const planFile = join(dataDir, `bench-slices-${count}.json`);
    const plan = await runPhase('bench/export-phase.ts', ['plan', dataDir, s3.endpoint, String(count), planFile]);
    const slices: PhaseResult[] = await Promise.all(
      Array.from({ length: plan.rows }, (_, i) => runPhase('bench/export-phase.ts', ['slice', dataDir, s3.endpoint, String(i), planFile])),
    );
    const assemble = await runPhase('bench/export-phase.ts', ['assemble', dataDir, s3.endpoint, '-', planFile]);
    const wall = plan.seconds + Math.max(...slices.map((slice) => slice.seconds)) + assemble.seconds;
    const perSlice = slices.reduce((sum, slice) => sum + rate(slice).rowsPerSecond, 0) / slices.length;
    const total = assemble.rows;
    console.log(
      `sliced ×${plan.rows}: ${total.toLocaleString('en')} rows in ${wall.toFixed(1)} s (plan ${plan.seconds.toFixed(1)} s, slices ${Math.max(...slices.map((slice) => slice.seconds)).toFixed(1)} s, assembly ${assemble.seconds.toFixed(1)} s) = ${Math.round(total / wall).toLocaleString('en')} rows/s, ${(total / wall / b.rowsPerSecond * 100).toFixed(0)}% of the baseline; per slice ${Math.round(perSlice).toLocaleString('en')} rows/s; peak RSS per worker ${Math.round(Math.max(...slices.map((slice) => slice.peakRssMB)))} MB`,
    );
    if (count === sliceCounts.at(-1)) {
      // AWS: each slice is a Lambda of its own, so throughput grows with the Map's MaxConcurrency while the search keeps up.
      const sliceSeconds = EXPORT_SLICE_ROWS_DEFAULT / perSlice;
      console.log(
        `AWS projection at ${Math.round(perSlice).toLocaleString('en')} rows/s a slice: a slice of EXPORT_SLICE_ROWS=${EXPORT_SLICE_ROWS_DEFAULT.toLocaleString('en')} takes ${sliceSeconds.toFixed(0)} s (${(TASK_TIMEOUT_SECONDS / sliceSeconds).toFixed(1)}× inside ${TASK_TIMEOUT_SECONDS} s; at a fifth of this rate ${(sliceSeconds * 5).toFixed(0)} s); ` +
          `10 slices at once ≈ ${Math.round(perSlice * 10).toLocaleString('en')} rows/s; ${MAX_SLICES} slices × ${EXPORT_SLICE_ROWS_DEFAULT.toLocaleString('en')} = ${(MAX_SLICES * EXPORT_SLICE_ROWS_DEFAULT).toLocaleString('en')} rows in ≈ ${((MAX_SLICES / 10) * sliceSeconds / 60).toFixed(0)} min at MaxConcurrency 10`,
      );
    }
  }
} finally {
  await s3.close();
}
