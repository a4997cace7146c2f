/**
 * Lambda cold start, per function: bundle size, what the bundle carries, module-import time and RSS.
 *
 *   npm run bench:coldstart -- [--runs 5] [--only health,search] [--against main]
 *
 * Each function of serverless.yml is bundled with exactly serverless-esbuild's settings
 * (custom.esbuild) and imported by a fresh Node 22 with the Lambda-like environment (provider
 * NODE_OPTIONS included). The same-run baseline is the same handler built the old way: a bundle that
 * also reaches the local composition, with source maps, imported with --enable-source-maps, as
 * shipped before. `--against <git ref>` adds a second same-run baseline: each handler as that commit
 * bundles it (its tree extracted with git archive under .bench/), same settings. Prints figures; never
 * fails on timing.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = join(root, '.bench', 'coldstart');
const node = join(root, 'node_modules', '.bin', 'node');

/** What no AWS bundle may carry, told from esbuild's metafile: the bundled inputs and the external imports. */
const LOCAL_ONLY: Record<string, (inputs: string[], externals: string[]) => boolean> = {
  'node:sqlite': (_inputs, externals) => externals.includes('node:sqlite'),
  nodemailer: (inputs) => inputs.some((path) => path.includes('node_modules/nodemailer/')),
  s3rver: (inputs) => inputs.some((path) => path.includes('node_modules/s3rver/')),
  ws: (inputs) => inputs.some((path) => path.includes('node_modules/ws/')),
  'adapters/local': (inputs) => inputs.some((path) => path.startsWith('adapters/local/')),
};

interface Args {
  runs: number;
  only?: Set<string>;
  against?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 5 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') args.runs = Math.max(1, Number(argv[++i]));
    else if (argv[i] === '--only') args.only = new Set(String(argv[++i]).split(','));
    else if (argv[i] === '--against') args.against = String(argv[++i]);
  }
  return args;
}

interface Serverless {
  custom: { esbuild: Record<string, unknown> };
  provider: { environment?: Record<string, unknown> };
  functions: Record<string, { handler: string }>;
}

// serverless.yml carries CloudFormation tags (!Ref, !Sub); they parse as plain values, which is all we read.
const readServerless = (): Serverless => parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'error', maxAliasCount: -1 }) as Serverless;

/** serverless-esbuild's own translation of custom.esbuild into esbuild options (dist/bundle.js). */
function esbuildOptionsOf(custom: Record<string, unknown>): BuildOptions {
  const { exclude, outputFileExtension, external, ...rest } = custom as {
    exclude?: string[];
    outputFileExtension?: string;
    external?: string[];
  } & Record<string, unknown>;
  const excluded = exclude ?? ['aws-sdk'];
  return {
    ...(rest as BuildOptions),
    external: [...(external ?? []), ...(excluded.includes('*') ? [] : excluded)],
    ...(outputFileExtension && outputFileExtension !== '.js' ? { outExtension: { '.js': outputFileExtension } } : {}),
  };
}

interface Bundle {
  file: string;
  bytes: number;
  carries: string[];
}

async function bundle(options: BuildOptions, outfile: string): Promise<Bundle> {
  rmSync(dirname(outfile), { recursive: true, force: true });
  mkdirSync(dirname(outfile), { recursive: true });
  const { outExtension: _ignored, ...rest } = options;
  const { metafile } = await build({ ...rest, outfile, logLevel: 'error', absWorkingDir: root, metafile: true });
  const [, output] = Object.entries(metafile.outputs).find(([path]) => path.endsWith('.mjs'))!;
  const inputs = Object.keys(output.inputs);
  const externals = output.imports.filter((i) => i.external).map((i) => i.path);
  const carries = Object.entries(LOCAL_ONLY)
    .filter(([, found]) => found(inputs, externals))
    .map(([name]) => name);
  return { file: outfile, bytes: statSync(outfile).size, carries };
}

interface ImportRun {
  ms: number;
  rssMB: number;
}

/** One fresh process importing the bundle; the time is the import alone, measured inside the process. */
function importOnce(file: string, nodeOptions: string | undefined): Promise<ImportRun> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); const ms = performance.now() - t; console.log(JSON.stringify({ ms, rssMB: process.memoryUsage().rss / 1048576 }));`;
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--input-type=module', '-e', script], {
      cwd: dirname(file),
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: 'ferry-coldstart',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
        ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`importing ${relative(root, file)} failed (exit ${code}): ${err.slice(-2000)}`));
      else resolve(JSON.parse(line) as ImportRun);
    });
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function measureImport(file: string, nodeOptions: string | undefined, runs: number): Promise<ImportRun> {
  const results: ImportRun[] = [];
  for (let i = 0; i < runs; i++) results.push(await importOnce(file, nodeOptions));
  return { ms: median(results.map((r) => r.ms)), rssMB: median(results.map((r) => r.rssMB)) };
}

/** The tree of a git ref, extracted under .bench/ (its imports resolve to this checkout's node_modules). */
function treeOf(ref: string): { sha: string; dir: string } {
  const sha = execFileSync('git', ['rev-parse', '--short', ref], { cwd: root, encoding: 'utf8' }).trim();
  const dir = join(outRoot, `ref-${sha}`, 'src');
  rmSync(dirname(dir), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', 'git archive "$1" | tar -x -C "$2"', 'sh', sha, dir], { cwd: root });
  return { sha, dir };
}

interface Row {
  fn: string;
  now: Bundle & ImportRun;
  before: Bundle & ImportRun;
  ref?: Bundle & ImportRun;
}

const MB = 1_000_000;
const fmt = (n: number, digits = 2) => n.toFixed(digits);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const serverless = readServerless();
  const shipped = esbuildOptionsOf(serverless.custom.esbuild);
  const nodeOptions = typeof serverless.provider.environment?.NODE_OPTIONS === 'string' ? serverless.provider.environment.NODE_OPTIONS : undefined;
  // The old way, as shipped before: unminified, source maps in the bundle, read at every cold start.
  const oldWay: BuildOptions = { ...shipped, minify: false, keepNames: false, sourcemap: true };
  const oldNodeOptions = '--enable-source-maps';

  console.log(`esbuild settings (serverless.yml custom.esbuild): ${JSON.stringify({ ...shipped, banner: undefined })}`);
  console.log(`Lambda NODE_OPTIONS: ${nodeOptions ?? '(none)'}; baseline: local composition reached, sourcemap, ${oldNodeOptions}; median of ${args.runs} imports each\n`);

  const ref = args.against ? { name: args.against, ...treeOf(args.against) } : undefined;
  if (ref) console.log(`second baseline: ${ref.name} (${ref.sha}), each handler as it bundles there, same settings\n`);

  const rows: Row[] = [];
  for (const [fn, { handler }] of Object.entries(serverless.functions)) {
    if (args.only && !args.only.has(fn)) continue;
    const modulePath = `./${handler.slice(0, handler.lastIndexOf('.'))}`;
    const now = await bundle({ ...shipped, entryPoints: [join(root, `${modulePath}.ts`)] }, join(outRoot, 'now', fn, 'index.mjs'));
    const before = await bundle(
      {
        ...oldWay,
        stdin: {
          contents: [
            `import { provideDeps } from './functions/composition';`,
            `import { buildLocalDeps } from './infra/local/composition';`,
            `provideDeps(buildLocalDeps);`,
            `export * from ${JSON.stringify(modulePath)};`,
          ].join('\n'),
          resolveDir: root,
          sourcefile: `${fn}-baseline.ts`,
          loader: 'ts',
        },
      },
      join(outRoot, 'before', fn, 'index.mjs'),
    );
    const refEntry = ref ? join(ref.dir, `${modulePath}.ts`) : undefined;
    const atRef = refEntry && existsSync(refEntry) ? await bundle({ ...shipped, entryPoints: [refEntry] }, join(outRoot, 'ref', fn, 'index.mjs')) : undefined;
    const row: Row = {
      fn,
      now: { ...now, ...(await measureImport(now.file, nodeOptions, args.runs)) },
      before: { ...before, ...(await measureImport(before.file, oldNodeOptions, args.runs)) },
      ...(atRef ? { ref: { ...atRef, ...(await measureImport(atRef.file, nodeOptions, args.runs)) } } : {}),
    };
    rows.push(row);
    const vsRef = row.ref
      ? `  ${ref?.name}: ${fmt(row.ref.bytes / MB)} MB (×${fmt(row.now.bytes / row.ref.bytes)}), import ${fmt(row.ref.ms / 1000, 3)} s (×${fmt(row.now.ms / row.ref.ms)})`
      : '';
    console.log(
      [
        fn.padEnd(26),
        `${fmt(row.now.bytes / MB)} MB`.padStart(9),
        `(was ${fmt(row.before.bytes / MB)} MB, ×${fmt(row.now.bytes / row.before.bytes)})`,
        `import ${fmt(row.now.ms / 1000, 3)} s`,
        `(was ${fmt(row.before.ms / 1000, 3)} s, ×${fmt(row.now.ms / row.before.ms)})`,
        `RSS ${fmt(row.now.rssMB, 0)} MB (was ${fmt(row.before.rssMB, 0)} MB)`,
        `carries: ${row.now.carries.join(', ') || 'none of the local-only'} (was: ${row.before.carries.join(', ') || 'none'})`,
      ].join('  ') + vsRef,
    );
  }
  if (rows.length === 0) return;
  const sum = (pick: (r: Row) => number) => rows.reduce((total, r) => total + pick(r), 0);
  const api = rows.filter((r) => serverless.functions[r.fn]!.handler.startsWith('functions/api/'));
  console.log(
    `\nall ${rows.length}: mean ${fmt(sum((r) => r.now.bytes) / rows.length / MB)} MB (×${fmt(sum((r) => r.now.bytes) / sum((r) => r.before.bytes))}),` +
      ` median import ${fmt(median(rows.map((r) => r.now.ms)) / 1000, 3)} s (baseline ${fmt(median(rows.map((r) => r.before.ms)) / 1000, 3)} s, ×${fmt(median(rows.map((r) => r.now.ms)) / median(rows.map((r) => r.before.ms)))})`,
  );
  if (api.length > 0) {
    const largest = Math.max(...api.map((r) => r.now.bytes));
    const slowest = Math.max(...api.map((r) => r.now.ms));
    console.log(`API handlers: largest ${fmt(largest / MB)} MB (target < 1.5 MB), slowest import ${fmt(slowest / 1000, 3)} s (target < 0.2 s)`);
    const apiAtRef = api.filter((r) => r.ref);
    if (ref && apiAtRef.length > 0) {
      const medianOf = (pick: (r: Row) => number) => median(apiAtRef.map(pick));
      console.log(
        `API handlers against ${ref.name}: median size ${fmt(medianOf((r) => r.now.bytes) / MB)} MB vs ${fmt(medianOf((r) => r.ref!.bytes) / MB)} MB,` +
          ` median import ${fmt(medianOf((r) => r.now.ms) / 1000, 3)} s vs ${fmt(medianOf((r) => r.ref!.ms) / 1000, 3)} s` +
          ` (×${fmt(medianOf((r) => r.now.ms) / medianOf((r) => r.ref!.ms))})`,
      );
    }
  }
  const health = rows.find((r) => r.fn === 'health');
  if (health) console.log(`health: ${fmt(health.now.bytes / 1048576)} MiB (target < 1.5 MiB)`);
  const carrying = rows.filter((r) => r.now.carries.length > 0);
  console.log(carrying.length ? `carry local-only code: ${carrying.map((r) => `${r.fn} (${r.now.carries.join(', ')})`).join('; ')}` : 'no bundle carries node:sqlite, nodemailer, s3rver, ws or adapters/local');
}

await main();
