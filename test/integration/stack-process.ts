import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where a local stack answers, as `npm start`'s entry point prints it on its FERRY_READY line. */
export interface StackInfo {
  url: string;
  s3Endpoint: string;
  sfnEndpoint: string;
  /** The WebSocket management API (loopback, SigV4). */
  managementEndpoint: string;
  /** The local DynamoDB (dynalite), for the SDK. */
  dynamoEndpoint: string;
  dataDir: string;
}

export interface StackProcess {
  info: StackInfo;
  /** The stack's process id (its children are clamd and the runtime's workers). */
  pid: number;
  /** True while the stack's process has not exited. */
  alive(): boolean;
  /** Everything the stack wrote to stderr so far (the child's stderr is also passed through). */
  stderr(): string;
  /** Stops the stack and removes its data directory. */
  stop(): Promise<void>;
  /** Kills the stack with SIGKILL, as a crash would, and keeps its data directory for a restart. */
  crash(): Promise<void>;
}

/**
 * Boots `infra/local/start.ts` as a child process on free ports, with a fresh data directory or the given one;
 * `nodeArgs` go to its node (e.g. `--cpu-prof` for bench:load).
 */
export async function startStackProcess(name: string, env: Record<string, string>, reuseDataDir?: string, nodeArgs: string[] = []): Promise<StackProcess> {
  const dataDir = reuseDataDir ?? mkdtempSync(join(tmpdir(), `ferry-${name}-`));
  const child = spawn(join('node_modules', '.bin', 'tsx'), [...nodeArgs, 'infra/local/start.ts'], {
    env: { ...process.env, PORT: '0', S3_PORT: '0', SFN_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so crash() can kill tsx's node child too (killing tsx alone orphans it).
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    process.stderr.write(chunk);
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const crash = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
  };
  try {
    const info = await new Promise<StackInfo>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error(`the ${name} stack did not start within 5 minutes`)), 300_000);
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const line = buffered.split('\n').find((l) => l.startsWith('FERRY_READY '));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line.slice('FERRY_READY '.length)) as StackInfo);
        }
      });
      child.on('exit', (code) => reject(new Error(`the ${name} stack exited with code ${code}`)));
    });
    return { info, pid: child.pid!, stop, crash, alive, stderr: () => stderr };
  } catch (error) {
    await stop();
    throw error;
  }
}
