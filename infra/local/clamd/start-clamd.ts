import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ClamdScanner } from '../../../adapters/clamd/clamd-scanner';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The signature databases shipped in the repo (EICAR only); `freshclam` adds real ones (README.md). */
const SHIPPED_SIGNATURES = ['ferry-test.hdb', 'ferry-test.ndb'];

export interface StartClamdOptions {
  /** The local stack's data directory; clamd's runtime files go under `<dataDir>/clamd/`. */
  dataDir: string;
  port: number;
  /** clamd's StreamMaxLength (also MaxFileSize and MaxScanSize). Default 2000M. */
  streamMaxLength?: string;
  /** Default: $CLAMD_PATH, then `clamd` on PATH, /usr/sbin, /usr/local/sbin. */
  clamdPath?: string;
  /** How long to wait for PONG; real signature sets take tens of seconds to load. Default 120 s. */
  readyTimeoutMs?: number;
}

export interface ClamdHandle {
  host: '127.0.0.1';
  port: number;
  pid: number;
  /** `<dataDir>/clamd/db`: where freshclam should put real signatures. */
  databaseDir: string;
  stop(): Promise<void>;
}

/** The clamd binary, or undefined when ClamAV is not installed. */
export function findClamd(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CLAMD_PATH) return existsSync(env.CLAMD_PATH) ? env.CLAMD_PATH : undefined;
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  return dirs.map((dir) => join(dir, 'clamd')).find((path) => existsSync(path));
}

/** Writes clamd.conf from the template, installs the shipped signatures and starts clamd in the foreground. */
export async function startClamd(options: StartClamdOptions): Promise<ClamdHandle> {
  const clamd = options.clamdPath ?? findClamd();
  if (!clamd) throw new Error('clamd is not installed (Debian: apt-get install -y clamav-daemon)');

  const runtimeDir = resolve(options.dataDir, 'clamd');
  const databaseDir = join(runtimeDir, 'db');
  const tempDir = join(runtimeDir, 'tmp');
  await mkdir(databaseDir, { recursive: true });
  await mkdir(tempDir, { recursive: true });
  for (const file of SHIPPED_SIGNATURES) await copyFile(join(HERE, file), join(databaseDir, file));

  const scanner = new ClamdScanner({ host: '127.0.0.1', port: options.port, timeoutMs: 1000 });
  if (await answers(scanner)) throw new Error(`something already answers PING on 127.0.0.1:${options.port}`);

  const template = await readFile(join(HERE, 'clamd.conf.template'), 'utf8');
  const configFile = join(runtimeDir, 'clamd.conf');
  const logFile = join(runtimeDir, 'clamd.log');
  await writeFile(
    configFile,
    fillTemplate(template, {
      PORT: String(options.port),
      DATABASE_DIR: databaseDir,
      TEMP_DIR: tempDir,
      LOG_FILE: logFile,
      PID_FILE: join(runtimeDir, 'clamd.pid'),
      STREAM_MAX_LENGTH: options.streamMaxLength ?? '2000M',
    }),
  );

  const child = spawn(clamd, ['--config-file', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', () => undefined);

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  while (!(await answers(scanner))) {
    const code = await Promise.race([exited, sleep(200).then(() => 'running' as const)]);
    if (code !== 'running') {
      throw new Error(`clamd exited (${code}) before answering PING; see ${logFile}\n${stderr}`);
    }
    if (Date.now() > deadline) {
      await stopProcess(child, exited);
      throw new Error(`clamd did not answer PING on 127.0.0.1:${options.port} in time; see ${logFile}`);
    }
  }
  return {
    host: '127.0.0.1',
    port: options.port,
    pid: child.pid ?? -1,
    databaseDir,
    stop: () => stopProcess(child, exited),
  };
}

/** The signature files in a database directory (for logs: tells whether real signatures are there). */
export async function signatureFiles(databaseDir: string): Promise<string[]> {
  return (await readdir(databaseDir)).filter((name) => /\.(c[vl]d|[hm]db|hsb|ndb|ldb|cdb|ign2?)$/.test(name)).sort();
}

function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`clamd.conf.template uses an unknown value {{${name}}}`);
    return value;
  });
}

async function answers(scanner: ClamdScanner): Promise<boolean> {
  return scanner.ping().then(
    () => true,
    () => false,
  );
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `npx tsx infra/local/clamd/start-clamd.ts --data-dir .data --port 3310`: runs until Ctrl-C. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'data-dir': { type: 'string', default: '.data' }, port: { type: 'string', default: '3310' } },
  });
  const handle = await startClamd({ dataDir: values['data-dir'], port: Number(values.port) });
  console.log(
    `clamd ${handle.pid} answering on ${handle.host}:${handle.port}; signatures: ${(await signatureFiles(handle.databaseDir)).join(', ')}`,
  );
  const stop = () => void handle.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
