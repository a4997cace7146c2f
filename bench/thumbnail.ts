/**
 * sharp's cold start for "Keep resource": the import of sharp (libvips) in a fresh Node, then the first and a
 * warm 1200×900 JPEG → 256 px WebP thumbnail, beside a same-run baseline (a fresh Node importing nothing).
 *
 *   npx tsx bench/thumbnail.ts [--runs 5]
 *
 * Each run is its own `node` process, so every import is cold. Prints medians; never fails on timing.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node = join(root, 'node_modules', '.bin', 'node');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const PROBE = `
const t0 = performance.now();
const { default: sharp } = await import('sharp');
const t1 = performance.now();
const jpeg = await sharp({ create: { width: 1200, height: 900, channels: 3, background: '#6a8' } }).jpeg().toBuffer();
const thumb = () => sharp(jpeg).rotate().resize(256, 256, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 70 }).toBuffer();
const t2 = performance.now();
await thumb();
const t3 = performance.now();
await thumb();
const t4 = performance.now();
console.log(JSON.stringify({ importMs: t1 - t0, firstMs: t3 - t2, warmMs: t4 - t3 }));
`;
const BASELINE = `const t0 = performance.now(); await import('node:stream'); console.log(JSON.stringify({ importMs: performance.now() - t0 }));`;

const run = (code: string) =>
  JSON.parse(execFileSync(node, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' })) as Record<string, number>;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

const probes = Array.from({ length: runs }, () => run(PROBE));
const baselines = Array.from({ length: runs }, () => run(BASELINE));
const of = (key: string, rows: Record<string, number>[]) => median(rows.map((row) => row[key] ?? NaN));
const baseline = of('importMs', baselines);
console.log(`runs: ${runs} (fresh node each)`);
const sharpImport = of('importMs', probes);
console.log(
  `import('sharp'): ${sharpImport.toFixed(0)} ms = ${(sharpImport / baseline).toFixed(0)}× the baseline import of node:stream (${baseline.toFixed(1)} ms)`,
);
console.log(`first thumbnail: ${of('firstMs', probes).toFixed(0)} ms; warm thumbnail: ${of('warmMs', probes).toFixed(0)} ms`);
