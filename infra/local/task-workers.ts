import { Worker } from 'node:worker_threads';
import type { LocalIamOptions } from './iam/local-iam';
import type { LocalIamMode } from './iam/wiring';

export { OFFLOADED_TASKS } from './offloaded-tasks';
import { OFFLOADED_TASKS } from './offloaded-tasks';

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

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  field?: string;
}

/** What crosses the thread boundary of a failure: its name is the errorType Step Functions' Retry and Catch match. */
export function serializedError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const field = (error as { field?: unknown }).field;
  return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}), ...(typeof field === 'string' ? { field } : {}) };
}

const revived = (error: SerializedError): Error => Object.assign(new Error(error.message), error);

export interface TaskPool {
  invoke: Invoke;
  /** Starts the workers now (once the stack's env is set) and resolves when they are ready, so no task waits for a boot. */
  warm(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `inProcess` for every function but OFFLOADED_TASKS, which go round-robin to `size` worker threads started by warm()
 * or on first use (so they copy the env the stack has set by then). A worker that dies fails its pending invocations with
 * Lambda's name for it (Runtime.ExitError) and is replaced on the next call. `size` 0 keeps everything in-process.
 */
export function taskPool(inProcess: Invoke, data: TaskWorkerData, size: number): TaskPool {
  const workers: Array<
    { worker: Worker; pending: Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>; ready: Promise<void> } | undefined
  > =
    Array.from({ length: size }, () => undefined);
  let next = 0;
  let ids = 0;
  let closed = false;

  const start = (slot: number) => {
    // tsx registers its loader on the stack's thread only; the worker imports its TypeScript through tsx's API.
    const url = new URL('./task-worker.ts', import.meta.url).href;
    const worker = new Worker(`import { tsImport } from 'tsx/esm/api'; await tsImport(${JSON.stringify(url)}, ${JSON.stringify(url)});`, {
      eval: true,
      workerData: data,
    });
    const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
    let ready: () => void = () => undefined;
    const entry = { worker, pending, ready: new Promise<void>((resolve) => (ready = resolve)) };
    worker.on('message', (reply: TaskReply | 'ready') => {
      if (reply === 'ready') return ready();
      const waiting = pending.get(reply.id);
      if (!waiting) return;
      pending.delete(reply.id);
      if ('error' in reply) waiting.reject(revived(reply.error));
      else waiting.resolve(reply.result);
    });
    const fail = (why: string) => {
      ready();
      if (workers[slot] === entry) workers[slot] = undefined;
      for (const waiting of pending.values()) waiting.reject(Object.assign(new Error(`RequestId: local Error: ${why}`), { name: 'Runtime.ExitError' }));
      pending.clear();
    };
    worker.on('error', (error: unknown) => {
      if (!closed) console.error('[task-worker]', error);
      fail(`the task worker failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    worker.on('exit', (code) => fail(`the task worker exited with code ${code}`));
    workers[slot] = entry;
    return entry;
  };

  return {
    invoke: (functionKey, payload) => {
      if (size === 0 || closed || !OFFLOADED_TASKS.has(functionKey)) return inProcess(functionKey, payload);
      const slot = next++ % size;
      const { worker, pending } = workers[slot] ?? start(slot);
      const id = ++ids;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, functionKey, payload } satisfies TaskRequest);
      });
    },
    async warm() {
      for (let slot = 0; slot < size; slot++) if (!workers[slot] && !closed) start(slot);
      await Promise.all(workers.map((entry) => entry?.ready));
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((entry) => entry?.worker.terminate()));
    },
  };
}
