/**
 * `npm run bench:load`: boots a local stack, then runs 50 concurrent exports and 20 concurrent imports
 * (imports only where clamd is installed) while a client samples search latency. Prints completed / failed /
 * lost counts, search p50/p99 under load beside idle in the same run (goal: p99 < 2x idle + 50 ms), and the
 * peak RSS of the stack's process tree. It never fails on its figures.
 * Options: --exports 50 --imports 20 --rows 20000 --timeout-s 600 --cpu-prof <dir> (a V8 CPU profile of the stack's process,
 * written to <dir> when it stops: what holds its event loop under load) --poll app|<ms> (how each export and import is
 * followed: `app`, the default, as the web app does it, its first wait and backoff (frontend/src/exports/poll-timing.ts'
 * DEFAULT_TIMING and nextPollDelay: 1 s, then 1.6 times longer up to 10 s); a number: a fixed wait in ms, a client
 * harsher than the web app, as this bench polled until December: `--poll 500`)
 */
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { findClamd } from '../infra/local/clamd/start-clamd';
import { DEFAULT_TIMING, nextPollDelay } from '../frontend/src/exports/poll-timing';
import { EVENT_LOOP_LINE } from '../infra/local/event-loop-report';
import { startStackProcess } from '../test/integration/stack-process';

const { values } = parseArgs({
  options: { exports: { type: 'string', default: '50' }, imports: { type: 'string', default: '20' }, rows: { type: 'string', default: '20000' }, 'timeout-s': { type: 'string', default: '600' }, 'cpu-prof': { type: 'string' }, poll: { type: 'string', default: 'app' } },
});
const EXPORTS = Number(values.exports);
const IMPORTS = findClamd() ? Number(values.imports) : 0;
const TIMEOUT_MS = Number(values['timeout-s']) * 1000;
const FIXED_POLL_MS = values.poll === 'app' ? undefined : Number(values.poll);
if (FIXED_POLL_MS !== undefined && !(FIXED_POLL_MS > 0)) throw new Error(`--poll takes "app" or a wait in ms, not ${values.poll}`);
/** The waits between one job's status checks, as --poll asks. */
function* pollWaits(): Generator<number> {
  for (let delay = DEFAULT_TIMING.initialMs; ; delay = nextPollDelay(delay, DEFAULT_TIMING)) yield FIXED_POLL_MS ?? delay;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const profileDir = values['cpu-prof'];
const stack = await startStackProcess('load', { SEED_ROWS: String(values.rows), LOCAL_EVENT_LOOP_REPORT: '1' }, undefined, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
const { url } = stack.info;

async function call<T>(token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}/api${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Resident memory of a process and all its descendants, from /proc. */
function treeRssBytes(root: number): number {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) if (tree.has(ppid) && !tree.has(pid)) grew = tree.add(pid) !== undefined;
  }
  let total = 0;
  for (const pid of tree) {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // ended
    }
  }
  return total;
}

const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/** When each search under load was sent (ms since the load started) and how long it took. */
const timeline: Array<{ at: number; ms: number }> = [];

async function sampleSearch(token: string, until: () => boolean, minimum = 0, since?: number): Promise<number[]> {
  const samples: number[] = [];
  const words = ['data', 'report', 'ferry', 'cloud', 'export', 'river'];
  while (samples.length < minimum || (!until() && samples.length < 100_000)) {
    const started = performance.now();
    const res = await call(token, 'GET', `/search?q=${words[samples.length % words.length]}&page=${1 + (samples.length % 5)}&pageSize=20`);
    if (res.status === 200) {
      const ms = performance.now() - started;
      samples.push(ms);
      if (since !== undefined) timeline.push({ at: started - since, ms });
    }
    await sleep(50);
  }
  return samples;
}

try {
  const token = (await call<{ idToken: string }>(undefined, 'POST', '/local/token', { username: 'alice', password: 'ferry' })).body.idToken;
  await sampleSearch(token, () => true, 20);
  const idle = await sampleSearch(token, () => true, 200);
  console.log(`idle search sampled (${idle.length}); starting the load`);

  let peakRss = treeRssBytes(stack.pid);
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, treeRssBytes(stack.pid))), 250);
  const deadline = Date.now() + TIMEOUT_MS;
  let polls = 0;
  const outcome = { exports: { completed: 0, failed: 0, lost: 0 }, imports: { completed: 0, failed: 0, lost: 0 } };

  const oneExport = async () => {
    const started = await call<{ executionArn: string }>(token, 'POST', '/download-request', { delivery: 'direct', searchCriteria: {} });
    if (started.status !== 202) return void outcome.exports.failed++;
    for (const wait of pollWaits()) {
      await sleep(wait);
      const status = await call<{ status: string }>(token, 'GET', `/download-request/${encodeURIComponent(started.body.executionArn)}`);
      polls++;
      if (status.body?.status === 'SUCCEEDED') return void outcome.exports.completed++;
      if (status.body?.status === 'FAILED') return void outcome.exports.failed++;
      if (Date.now() > deadline) return void outcome.exports.lost++;
    }
  };
  const oneImport = async (n: number) => {
    // No userId column: the uploader (alice) is the author; a member's rows naming others would be rejected.
    const csv = ['dateCreated,content,tags', ...Array.from({ length: 500 }, (_, i) => `2024-01-01T00:00:${String(i % 60).padStart(2, '0')}Z,load post ${i} of file ${n},load`)].join('\n') + '\n';
    const created = await call<{ importId: string; upload: { url: string; fields: Record<string, string> } }>(token, 'POST', '/imports', {
      fileName: `load-${n}.csv`,
      size: Buffer.byteLength(csv),
      contentType: 'text/csv',
      delivery: 'direct',
    });
    if (created.status !== 201) return void outcome.imports.failed++;
    const form = new FormData();
    for (const [name, value] of Object.entries(created.body.upload.fields)) form.append(name, value);
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'upload');
    if ((await fetch(created.body.upload.url, { method: 'POST', body: form })).status >= 300) return void outcome.imports.failed++;
    for (const wait of pollWaits()) {
      await sleep(wait);
      const status = await call<{ status: string }>(token, 'GET', `/imports/${created.body.importId}`);
      polls++;
      if (status.body?.status === 'SUCCEEDED') return void outcome.imports.completed++;
      if (['FAILED', 'REJECTED', 'QUARANTINED'].includes(status.body?.status ?? '')) return void outcome.imports.failed++;
      if (Date.now() > deadline) return void outcome.imports.lost++;
    }
  };

  let loadDone = false;
  const loadStartedAt = Date.now();
  const startedAt = performance.now();
  const load = Promise.all([
    ...Array.from({ length: EXPORTS }, oneExport),
    ...Array.from({ length: IMPORTS }, (_, i) => oneImport(i)),
  ]).finally(() => (loadDone = true));
  const underLoad = await sampleSearch(token, () => loadDone, 20, startedAt);
  await load;
  const seconds = (performance.now() - startedAt) / 1000;
  clearInterval(rssTimer);
  // The stack's event-loop delay during the load, from its once-a-second report (LOCAL_EVENT_LOOP_REPORT).
  const loopWindows = stack
    .stderr()
    .split('\n')
    .flatMap((line) => (line.startsWith(`${EVENT_LOOP_LINE} `) ? [JSON.parse(line.slice(EVENT_LOOP_LINE.length + 1)) as { at: number; p99: number; max: number }] : []))
    .filter((window) => window.at > loadStartedAt);

  const idleP99 = percentile(idle, 99);
  const loadP99 = percentile(underLoad, 99);
  console.log(`bench:load — ${values.rows} seeded rows, ${EXPORTS} exports + ${IMPORTS} imports at once, ${seconds.toFixed(1)} s`);
  console.log(`  status polls: ${polls} (${FIXED_POLL_MS === undefined ? `as the web app: ${DEFAULT_TIMING.initialMs / 1000} s, then 1.6x longer up to ${DEFAULT_TIMING.maxMs / 1000} s` : `every ${FIXED_POLL_MS} ms`})`);
  if (!IMPORTS) console.log('  imports skipped: clamd is not installed (apt-get install clamav-daemon)');
  console.log(`  exports: ${outcome.exports.completed} completed, ${outcome.exports.failed} failed, ${outcome.exports.lost} lost`);
  console.log(`  imports: ${outcome.imports.completed} completed, ${outcome.imports.failed} failed, ${outcome.imports.lost} lost`);
  console.log(`  search idle:       p50 ${percentile(idle, 50).toFixed(1)} ms, p99 ${idleP99.toFixed(1)} ms (${idle.length} samples)`);
  console.log(`  search under load: p50 ${percentile(underLoad, 50).toFixed(1)} ms, p99 ${loadP99.toFixed(1)} ms (${underLoad.length} samples)`);
  console.log(`  p99 ratio ${(loadP99 / idleP99).toFixed(2)}x idle; goal p99 < ${(2 * idleP99 + 50).toFixed(1)} ms: ${loadP99 < 2 * idleP99 + 50 ? 'met' : 'NOT met'}`);
  const slow = timeline.filter((sample) => sample.ms >= 2 * idleP99 + 50);
  const secondsOf = (at: number) => `${(at / 1000).toFixed(1)}`;
  console.log(
    `  searches at or over the goal: ${slow.length} of ${timeline.length}${slow.length ? `, sent at ${slow.map((sample) => `${secondsOf(sample.at)} s (${sample.ms.toFixed(0)} ms)`).join(', ')} into the load` : ''}`,
  );
  if (loopWindows.length) {
    const worst = Math.max(...loopWindows.map((window) => window.max));
    console.log(
      `  stack's event-loop delay under load: median of per-second p99 ${percentile(loopWindows.map((window) => window.p99), 50).toFixed(1)} ms, worst ${worst.toFixed(1)} ms (${loopWindows.length} s)`,
    );
  }
  console.log(`  load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores`);
  console.log(`  peak RSS of the stack's process tree: ${(peakRss / 1024 ** 2).toFixed(0)} MiB`);
} finally {
  await stack.stop();
}
