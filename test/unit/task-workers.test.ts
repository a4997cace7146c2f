import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../core/errors';
import { loadServerlessConfig } from '../../infra/local/serverless-config';
import { offloadedTasks, serializedError, taskPool } from '../../infra/local/task-workers';

const serverlessYmlPath = join(import.meta.dirname, '..', '..', 'serverless.yml');
// Functions that exercise the limits: heapLimit (256 MB, the provider's), heapLimitLarge (1024), hoard (128), spin (1 s).
const limitsYmlPath = join(import.meta.dirname, 'fixtures', 'task-pool', 'serverless.yml');
const limitsPool = () =>
  taskPool(() => Promise.reject(new Error('not in this process')), { serverlessYmlPath: limitsYmlPath, stage: 'local' }, 1, new Set(['heapLimit', 'heapLimitLarge', 'hoard', 'spin']));
const failureOf = (pending: Promise<unknown>) => pending.then(() => new Error('it succeeded'), (error: unknown) => error as Error);

describe('the local task pool', () => {
  it('keeps the API\'s handlers on the stack\'s thread, and everything there when it has no workers', async () => {
    const calls: string[] = [];
    const inProcess = async (functionKey: string) => {
      calls.push(functionKey);
      return { ran: functionKey };
    };
    const none = taskPool(inProcess, { serverlessYmlPath, stage: 'local' }, 0);
    expect(await none.invoke('search', {})).toEqual({ ran: 'search' });
    expect(await none.invoke('generateCsvReport', {})).toEqual({ ran: 'generateCsvReport' });
    const pool = taskPool(inProcess, { serverlessYmlPath, stage: 'local' }, 1);
    expect(await pool.invoke('getImport', {})).toEqual({ ran: 'getImport' });
    expect(await pool.invoke('wsConnect', {})).toEqual({ ran: 'wsConnect' });
    expect(calls).toEqual(['search', 'generateCsvReport', 'getImport', 'wsConnect']);
    await Promise.all([none.close(), pool.close()]);
  });

  it('offloads every function no HTTP or WebSocket route calls: both workflows\' tasks and the upload event\'s handler', () => {
    const { functions } = loadServerlessConfig(serverlessYmlPath, { stage: 'local' });
    expect([...offloadedTasks(functions)].sort()).toEqual(
      [
        'acquireImportSlot',
        'assembleExportFile',
        'awaitImportMapping',
        'commitImportChunks',
        'computeChecksum',
        'emailLinkToUser',
        'expireImport',
        'generateCsvReport',
        'handleExportFailure',
        'handleImportFailure',
        'identifyFormat',
        'importChunk',
        'keepResource',
        'notifyImportOutcome',
        'onUploadCreated',
        'planExportSlices',
        'planImportChunks',
        'processImport',
        'pushLinkToBrowser',
        'quarantineFile',
        'recordExportRequest',
        'recordExportSuccess',
        'rejectFile',
        'releaseImportSlot',
        'scanForViruses',
        'waitForBrowserConnection',
        'writeExportSlice',
      ],
    );
  });

  it('a failure crosses the process boundary with its name (what Retry and Catch match) and its field', () => {
    const crossed = structuredClone(serializedError(new InvalidInput('bad size', 'size')));
    expect(crossed).toMatchObject({ name: 'InvalidInput', message: 'bad size', field: 'size' });
    expect(serializedError('a string')).toEqual({ name: 'Error', message: 'a string' });
  });

  it('runs an offloaded task in a task process with the real handler, and its failure comes back named, the pool intact', async () => {
    const pool = taskPool(() => Promise.reject(new Error('not on this thread')), { serverlessYmlPath, stage: 'local' }, 1);
    try {
      // No import record store is configured in this process's env, so the real handler fails in the worker.
      const failure = (await pool.invoke('identifyFormat', { importId: 'none', executionArn: 'arn' }).catch((error: unknown) => error)) as Error;
      expect(failure).toBeInstanceOf(Error);
      expect(failure.name).not.toBe('Runtime.ExitError');
      expect(failure.message).not.toMatch(/not on this thread/);
      const again = (await pool.invoke('identifyFormat', { importId: 'none', executionArn: 'arn' }).catch((error: unknown) => error)) as Error;
      expect(again.name).toBe(failure.name);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('gives each memorySize its own processes, with a heap bounded by that memorySize', async () => {
    const pool = limitsPool();
    try {
      const small = (await pool.invoke('heapLimit', {})) as { heapLimitMb: number; pid: number };
      const large = (await pool.invoke('heapLimitLarge', {})) as { heapLimitMb: number; pid: number };
      expect(small.pid).not.toBe(large.pid);
      expect(small.heapLimitMb).toBeGreaterThan(0.8 * 256);
      expect(small.heapLimitMb).toBeLessThan(256);
      expect(large.heapLimitMb).toBeGreaterThan(0.8 * 1024);
      expect(large.heapLimitMb).toBeLessThan(1024);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('fails a task that goes over its memorySize with Runtime.OutOfMemory, and runs the next on a fresh process', async () => {
    const pool = limitsPool();
    try {
      expect(await pool.invoke('hoard', { megabytes: 1 })).toEqual({ kept: 1 });
      const failure = await failureOf(pool.invoke('hoard', { megabytes: 1000 }));
      expect(failure.name).toBe('Runtime.OutOfMemory');
      expect(failure.message).toMatch(/hoard went over its memorySize of 128 MB/);
      expect(await pool.invoke('hoard', { megabytes: 1 })).toEqual({ kept: 1 });
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('fails a task that holds its process past its timeout with Sandbox.Timedout, and replaces the process', async () => {
    const pool = limitsPool();
    try {
      await pool.warm();
      const failure = await failureOf(pool.invoke('spin', { ms: 60_000 }));
      expect(failure.name).toBe('Sandbox.Timedout');
      expect(failure.message).toMatch(/Task timed out after 1\.00 seconds$/);
      expect(await pool.invoke('spin', { ms: 10 })).toEqual({ spun: 10 });
    } finally {
      await pool.close();
    }
  }, 60_000);
});
