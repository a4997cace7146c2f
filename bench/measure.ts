import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** One measured phase, run in its own process so its peak RSS is its own. */
export interface PhaseResult {
  phase: string;
  rows: number;
  bytes: number;
  seconds: number;
  peakRssMB: number;
  /** Peaks of V8's heap and of memory outside it (Buffers and other external memory), sampled as below. */
  peakHeapMB: number;
  peakExternalMB: number;
  /** CPU time (user + system, all threads) the phase used, when it passed its start's process.cpuUsage(). */
  cpuSeconds?: number;
}

const peaks = { heap: 0, external: 0 };
let lastSample = 0;
function sampleNow(): void {
  const m = process.memoryUsage();
  peaks.heap = Math.max(peaks.heap, m.heapUsed);
  // `external` already includes `arrayBuffers` (Node's Buffers): their sum counted every Buffer twice.
  peaks.external = Math.max(peaks.external, m.external);
  lastSample = performance.now();
}

/** Starts sampling this process's memory every 50 ms; call once at the start of a phase. */
export function sampleMemory(): void {
  setInterval(sampleNow, 50).unref();
}

/**
 * Passes `batches` through, sampling memory between batches at most every 10 ms. A timer alone starves:
 * reading and serialising rows runs on promises only, so it never yields to the timer's turn of the loop.
 */
export async function* sampled<T>(batches: AsyncIterable<T>): AsyncIterable<T> {
  for await (const batch of batches) {
    if (performance.now() - lastSample >= 10) sampleNow();
    yield batch;
  }
}

/** `cpuProfileDir`: write a V8 CPU profile of the phase (`node --cpu-prof`) there, to open in Chrome DevTools. */
export function runPhase(script: string, args: string[], options: { cpuProfileDir?: string } = {}): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const env = options.cpuProfileDir
      ? { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${options.cpuProfileDir}`.trim() }
      : process.env;
    const child = spawn(join('node_modules', '.bin', 'tsx'), [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`${script} ${args.join(' ')} exited with ${code}`));
      resolve(JSON.parse(line.slice('RESULT '.length)) as PhaseResult);
    });
  });
}

export function report(phase: string, rows: number, bytes: number, startedAt: bigint, cpuAtStart?: NodeJS.CpuUsage): void {
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const cpu = cpuAtStart ? process.cpuUsage(cpuAtStart) : undefined;
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  const result: PhaseResult = {
    phase,
    rows,
    bytes,
    seconds,
    peakRssMB,
    peakHeapMB: peaks.heap / 1048576,
    peakExternalMB: peaks.external / 1048576,
    ...(cpu ? { cpuSeconds: (cpu.user + cpu.system) / 1e6 } : {}),
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

export const rate = (r: PhaseResult) => ({ rowsPerSecond: r.rows / r.seconds, mbPerSecond: r.bytes / 1e6 / r.seconds });

export function argument(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
