import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadServerlessConfig } from './serverless-config';
import { rememberSigner, type LocalRole } from './iam/enforce';
import type { LocalIamOptions } from './iam/local-iam';
import type { LocalIamMode } from './iam/wiring';

export { offloadedTasks } from './offloaded-tasks';
import { offloadedTasks } from './offloaded-tasks';

type Invoke = (functionKey: string, payload: unknown) => Promise<unknown>;

export interface TaskWorkerData {
  serverlessYmlPath: string;
  /** The serverless stage the local stack plays (its function names are what the roles grant). */
  stage: string;
  iam?: { options: LocalIamOptions; mode: LocalIamMode; decisionsFile?: string };
}

export interface TaskRequest {
  id: number;
  functionKey: string;
  payload: unknown;
}

export type TaskReply = { id: number; result: unknown } | { id: number; error: SerializedError };
/**
 * A URL or POST presigned in a task process: the local S3 authorises its use as the role that signed it, and asks the
 * stack's process (iam/wiring.ts presignedRefusal), so the task process tells it the signer before the task's result.
 */
export interface SignerMessage {
  signer: { signature: string; role: LocalRole; expiresAt: number };
}

/** The env variable that hands a task process its TaskWorkerData (and the functions it serves). */
export const TASK_WORKER_DATA_ENV = 'FERRY_TASK_WORKER_DATA';

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  field?: string;
}

/** What crosses the process boundary of a failure: its name is the errorType Step Functions' Retry and Catch match. */
export function serializedError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const field = (error as { field?: unknown }).field;
  return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}), ...(typeof field === 'string' ? { field } : {}) };
}

const revived = (error: SerializedError): Error => Object.assign(new Error(error.message), error);

export interface TaskPool {
  invoke: Invoke;
  /** Starts the processes now (once the stack's env is set) and resolves when they are ready, so no task waits for a boot. */
  warm(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The V8 heap a task process gets for its functions' memorySize: young generation (3 semi-spaces) and old space
 * together 90 % of it, leaving the rest for code and buffers, so the heap limit bites before the process is over
 * what Lambda would allow.
 */
export const heapLimits = (memorySizeMb: number): { oldSpaceMb: number; semiSpaceMb: number } => {
  const semiSpaceMb = Math.min(16, Math.max(1, Math.floor(memorySizeMb / 64)));
  return { oldSpaceMb: Math.max(16, Math.floor(memorySizeMb * 0.9) - 3 * semiSpaceMb), semiSpaceMb };
};

/** The task processes' scheduling niceness (0 is the stack's; 19 the lowest priority). */
const TASK_PROCESS_NICENESS = Number(process.env.LOCAL_TASK_NICENESS ?? 10);

/** How long past a function's timeout the pool waits for the process's own Sandbox.Timedout before it kills it. */
const KILL_GRACE_MS = 1000;

const lambdaError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

interface Pending {
  functionKey: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

interface TaskProcess {
  child: ChildProcess;
  pending: Map<number, Pending>;
  ready: Promise<void>;
  /** Set when the process is ended on purpose: how its pending invocations fail. */
  endedBecause?: Error;
}

/**
 * `inProcess` for every function but the offloaded ones (`only`, else offloadedTasks: every function no route calls), which go round-robin to `size` child processes per
 * memorySize of serverless.yml, started by warm() or on first use (so they copy the env the stack has set by then).
 * Each process's heap is bounded by that memorySize (heapLimits): a task that goes over fails every invocation of its
 * process with Lambda's Runtime.OutOfMemory. An invocation still running past its function's timeout fails with
 * Sandbox.Timedout and its process is killed, as Lambda ends the sandbox. A process that dies otherwise fails its pending
 * invocations with Runtime.ExitError. A dead process is replaced on the next call. `size` 0 keeps everything in-process.
 */
export function taskPool(inProcess: Invoke, data: TaskWorkerData, size: number, only?: ReadonlySet<string>): TaskPool {
  // The same configuration, stage variables resolved, as each task process loads for the functions it runs.
  const { functions } = loadServerlessConfig(data.serverlessYmlPath, { stage: data.stage });
  const offloaded = only ?? offloadedTasks(functions);
  const memoryOf = (functionKey: string) => functions[functionKey]?.memorySizeMb ?? 1024;
  const classes = new Map<number, { functionKeys: string[]; slots: Array<TaskProcess | undefined>; next: number }>();
  for (const functionKey of offloaded) {
    if (!functions[functionKey]) continue;
    const memory = memoryOf(functionKey);
    const sized = classes.get(memory) ?? { functionKeys: [], slots: Array.from({ length: size }, () => undefined), next: 0 };
    sized.functionKeys.push(functionKey);
    classes.set(memory, sized);
  }
  let ids = 0;
  let closed = false;

  const start = (memory: number, slot: number): TaskProcess => {
    const sized = classes.get(memory)!;
    // tsx's loader, so the process imports the TypeScript handlers as the stack does.
    const child = fork(fileURLToPath(new URL('./task-worker.ts', import.meta.url)), [], {
      execArgv: [
        '--import',
        import.meta.resolve('tsx'),
        `--max-old-space-size=${heapLimits(memory).oldSpaceMb}`,
        `--max-semi-space-size=${heapLimits(memory).semiSpaceMb}`,
        '--disable-warning=ExperimentalWarning',
      ],
      env: { ...process.env, [TASK_WORKER_DATA_ENV]: JSON.stringify({ ...data, functionKeys: sized.functionKeys }) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    // Background work, as the tasks are: the gateway (search, status) gets the CPU first when the cores are busy.
    if (child.pid !== undefined) setPriority(child.pid, TASK_PROCESS_NICENESS);
    let ready: () => void = () => undefined;
    const entry: TaskProcess = { child, pending: new Map(), ready: new Promise<void>((resolve) => (ready = resolve)) };
    let outOfMemory = false;
    let tail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      // V8's last words when the heap limit is reached (the process then aborts); the tail keeps a line split across chunks.
      // Matched before cutting: the native stack trace V8 prints after it can come in the same chunk.
      const seen = tail + chunk.toString('utf8');
      if (/JavaScript heap out of memory|Reached heap limit/.test(seen)) outOfMemory = true;
      tail = seen.slice(-200);
      process.stderr.write(chunk);
    });
    child.on('message', (reply: TaskReply | SignerMessage | 'ready') => {
      if (reply === 'ready') return ready();
      if ('signer' in reply) return rememberSigner(reply.signer.signature, reply.signer.role, reply.signer.expiresAt);
      const waiting = entry.pending.get(reply.id);
      if (!waiting) return;
      entry.pending.delete(reply.id);
      clearTimeout(waiting.timer);
      if ('error' in reply) waiting.reject(revived(reply.error));
      else waiting.resolve(reply.result);
    });
    const fail = (why: string) => {
      ready();
      if (sized.slots[slot] === entry) sized.slots[slot] = undefined;
      for (const waiting of entry.pending.values()) {
        clearTimeout(waiting.timer);
        waiting.reject(
          entry.endedBecause ??
            (outOfMemory
              ? lambdaError(
                  'Runtime.OutOfMemory',
                  `RequestId: local Error: Runtime exited with error: ${waiting.functionKey} went over its memorySize of ${memory} MB (JavaScript heap out of memory)`,
                )
              : lambdaError('Runtime.ExitError', `RequestId: local Error: ${why}`)),
        );
      }
      entry.pending.clear();
    };
    child.on('error', (error: Error) => {
      if (!closed) console.error('[task-worker]', error);
      fail(`the task process failed: ${error.message}`);
    });
    // 'close', not 'exit': it comes once stderr is drained too, so V8's out-of-memory words above have been read.
    child.on('close', (code, signal) => fail(`Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}`));
    sized.slots[slot] = entry;
    return entry;
  };

  const timedOut = (memory: number, slot: number, entry: TaskProcess, id: number) => {
    const waiting = entry.pending.get(id);
    if (!waiting) return;
    entry.pending.delete(id);
    const sized = classes.get(memory);
    // The next call starts a fresh process rather than join this one on its way out.
    if (sized?.slots[slot] === entry) sized.slots[slot] = undefined;
    const seconds = (functions[waiting.functionKey]?.timeoutSeconds ?? 6).toFixed(2);
    waiting.reject(lambdaError('Sandbox.Timedout', `RequestId: local Error: Task timed out after ${seconds} seconds`));
    // The task's process did not give up by itself (its event loop is held): end it, as Lambda ends the sandbox.
    entry.endedBecause = lambdaError('Runtime.ExitError', `RequestId: local Error: the task process was ended after ${waiting.functionKey} timed out`);
    entry.child.kill('SIGKILL');
  };

  return {
    invoke: (functionKey, payload) => {
      const memory = memoryOf(functionKey);
      const sized = classes.get(memory);
      if (size === 0 || closed || !offloaded.has(functionKey) || !sized) return inProcess(functionKey, payload);
      const slot = sized.next++ % size;
      const entry = sized.slots[slot] ?? start(memory, slot);
      const id = ++ids;
      const timeoutMs = (functions[functionKey]?.timeoutSeconds ?? 6) * 1000 + KILL_GRACE_MS;
      return new Promise((resolve, reject) => {
        const waiting: Pending = { functionKey, resolve, reject };
        entry.pending.set(id, waiting);
        // As Lambda's, the timeout counts from the handler's call, not from the process's boot (its init).
        void entry.ready.then(() => {
          if (entry.pending.get(id) !== waiting) return;
          waiting.timer = setTimeout(() => timedOut(memory, slot, entry, id), timeoutMs);
          entry.child.send({ id, functionKey, payload } satisfies TaskRequest);
        });
      });
    },
    async warm() {
      for (const [memory, sized] of classes) for (let slot = 0; slot < size; slot++) if (!sized.slots[slot] && !closed) start(memory, slot);
      await Promise.all([...classes.values()].flatMap((sized) => sized.slots.map((entry) => entry?.ready)));
    },
    async close() {
      closed = true;
      const running = [...classes.values()].flatMap((sized) => sized.slots.filter((entry): entry is TaskProcess => entry !== undefined));
      await Promise.all(
        running.map((entry) => {
          if (entry.child.exitCode !== null || entry.child.signalCode !== null) return undefined;
          const exited = new Promise((resolve) => entry.child.once('exit', resolve));
          entry.child.kill('SIGTERM');
          return exited;
        }),
      );
    },
  };
}
