import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/** The integration tests' one local stack: `npm start`'s entry point as a child process, on free ports. */
export interface StackInfo {
  url: string;
  s3Endpoint: string;
  sfnEndpoint: string;
  dataDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export const SEEDED_ROWS = 100_000;

let child: ChildProcess | undefined;
let dataDir: string | undefined;

export async function setup(project: TestProject) {
  dataDir = mkdtempSync(join(tmpdir(), 'ferry-it-'));
  child = spawn(join('node_modules', '.bin', 'tsx'), ['infra/local/start.ts'], {
    env: { ...process.env, PORT: '0', S3_PORT: '0', SFN_PORT: '0', DATA_DIR: dataDir, SEED_ROWS: String(SEEDED_ROWS), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await new Promise<StackInfo>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('the local stack did not start within 5 minutes')), 300_000);
    child!.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((l) => l.startsWith('FERRY_READY '));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('FERRY_READY '.length)) as StackInfo);
      }
    });
    child!.on('exit', (code) => reject(new Error(`the local stack exited with code ${code}`)));
  });
  project.provide('stack', info);
}

export async function teardown() {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child!.once('exit', resolve));
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
