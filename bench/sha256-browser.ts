/**
 * SHA-256 of a generated 1 GiB Blob in headless Chromium (Debian's), sliced as the app's hashFile
 * slices a dropped file: the app's hash-wasm hasher against the hand-written one it replaced.
 *   npm run bench:sha256 [-- --mib 1024 --runs 2]
 * Prints MB/s (10^6 bytes per second) per run and the ratio of the best runs; exits non-zero only
 * when a digest is wrong, never on timing.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_PATH, chromiumMissing } from '../test/requirements';
import { benchParts } from './sha256-data';

type Implementation = 'hand-written' | 'hash-wasm' | 'slices only';
/** What bench/sha256-page.ts puts on the page (its bundle's global name). */
interface PageBench {
  makeBlob(totalBytes: number): number;
  hashWith(implementation: Implementation): Promise<{ digest: string; seconds: number }>;
}

const { values } = parseArgs({ options: { mib: { type: 'string', default: '1024' }, runs: { type: 'string', default: '2' } } });
const totalBytes = Number(values.mib) * 1024 * 1024;
const runs = Number(values.runs);
/** Not a multiple of the 4 MiB slice nor of SHA-256's 64-byte block, to catch a wrong tail. */
const CHECK_BYTES = 64 * 1024 * 1024 + 12_345;
const HASHERS = ['hash-wasm', 'hand-written'] as const;

const noBrowser = chromiumMissing();
if (noBrowser) throw new Error(`The SHA-256 benchmark needs Chromium: ${noBrowser}`);

const bundle = await build({
  entryPoints: [fileURLToPath(new URL('./sha256-page.ts', import.meta.url))],
  bundle: true,
  write: false,
  format: 'iife',
  globalName: 'ferryBench',
  platform: 'browser',
  target: 'chrome120',
  logLevel: 'warning',
});

// Its own profile folder: Chromium pages a large Blob out to the profile's blob_storage.
const profile = mkdtempSync(join(tmpdir(), 'ferry-sha256-profile-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
let wrong = 0;
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto('about:blank');
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  console.log(`Chromium ${browser.browser()?.version() ?? ''}, ${(totalBytes / 2 ** 20).toFixed(0)} MiB Blob in 4 MiB slices, ${runs} run(s) each`);

  const expectedSmall = sha256sumOf(CHECK_BYTES);
  await makeBlob(page, CHECK_BYTES);
  for (const implementation of HASHERS) {
    const { digest } = await hashWith(page, implementation);
    wrong += check(`${implementation}, ${CHECK_BYTES} bytes vs sha256sum`, digest, expectedSmall);
  }

  const expected = nodeDigestOf(totalBytes);
  const madeIn = await makeBlob(page, totalBytes);
  console.log(`Blob built in ${madeIn.toFixed(1)} s; node:crypto digest ${expected}`);
  const best = new Map<(typeof HASHERS)[number], number>();
  const ratios: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const rate = new Map<(typeof HASHERS)[number], number>();
    for (const implementation of HASHERS) {
      const { digest, seconds } = await hashWith(page, implementation);
      const mbPerSecond = totalBytes / 1e6 / seconds;
      rate.set(implementation, mbPerSecond);
      best.set(implementation, Math.max(best.get(implementation) ?? 0, mbPerSecond));
      console.log(`run ${run}  ${implementation.padEnd(12)} ${seconds.toFixed(2).padStart(6)} s  ${mbPerSecond.toFixed(0).padStart(5)} MB/s`);
      wrong += check(`${implementation}, ${totalBytes} bytes vs node:crypto`, digest, expected, { quiet: true });
    }
    ratios.push(rate.get('hash-wasm')! / rate.get('hand-written')!);
    const { seconds } = await hashWith(page, 'slices only');
    console.log(`run ${run}  ${'slices only'.padEnd(12)} ${seconds.toFixed(2).padStart(6)} s  ${(totalBytes / 1e6 / seconds).toFixed(0).padStart(5)} MB/s  (reading, no hash)`);
  }
  const after = best.get('hash-wasm')!;
  const before = best.get('hand-written')!;
  const sorted = ratios.sort((a, b) => a - b);
  const medianRatio = (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
  console.log(`best: hand-written ${before.toFixed(0)} MB/s, hash-wasm ${after.toFixed(0)} MB/s, ratio ${(after / before).toFixed(2)}x`);
  console.log(`hash-wasm / hand-written within each run: ${ratios.map((r) => r.toFixed(2)).join(', ')} (median ${medianRatio.toFixed(2)}x)`);
  // Timings on a shared machine swing with its load: best-of-runs and the same-run ratio say more than one figure.
  console.log(`load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
if (wrong > 0) {
  console.error(`${wrong} digest(s) wrong`);
  process.exitCode = 1;
}

async function makeBlob(page: Page, bytes: number): Promise<number> {
  const started = performance.now();
  const size = await page.evaluate((n) => (globalThis as unknown as { ferryBench: PageBench }).ferryBench.makeBlob(n), bytes);
  if (size !== bytes) throw new Error(`Blob is ${size} bytes, wanted ${bytes}`);
  return (performance.now() - started) / 1000;
}

function hashWith(page: Page, implementation: Implementation): Promise<{ digest: string; seconds: number }> {
  return page.evaluate((which) => (globalThis as unknown as { ferryBench: PageBench }).ferryBench.hashWith(which), implementation);
}

/** The same bytes written to a file and hashed by coreutils' sha256sum: an independent reference. */
function sha256sumOf(bytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sha256-'));
  try {
    const file = join(dir, 'bench.bin');
    writeFileSync(file, Buffer.concat(Array.from(benchParts(bytes), (part) => Buffer.from(part))));
    return execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function nodeDigestOf(bytes: number): string {
  const hash = createHash('sha256');
  for (const part of benchParts(bytes)) hash.update(part);
  return hash.digest('hex');
}

function check(what: string, actual: string, expected: string, { quiet = false } = {}): number {
  if (actual === expected) {
    if (!quiet) console.log(`ok    ${what}: ${actual}`);
    return 0;
  }
  console.error(`WRONG ${what}: ${actual}, expected ${expected}`);
  return 1;
}
