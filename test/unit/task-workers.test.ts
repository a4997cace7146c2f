import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../core/errors';
import { OFFLOADED_TASKS, serializedError, taskPool } from '../../infra/local/task-workers';

const serverlessYmlPath = join(import.meta.dirname, '..', '..', 'serverless.yml');

describe('the local task pool', () => {
  it('keeps API handlers and light tasks on the stack\'s thread, and everything there when it has no workers', async () => {
    const calls: string[] = [];
    const inProcess = async (functionKey: string) => {
      calls.push(functionKey);
      return { ran: functionKey };
    };
    const none = taskPool(inProcess, { serverlessYmlPath, stage: 'local' }, 0);
    expect(await none.invoke('search', {})).toEqual({ ran: 'search' });
    expect(await none.invoke('generateCsvReport', {})).toEqual({ ran: 'generateCsvReport' });
    const pool = taskPool(inProcess, { serverlessYmlPath, stage: 'local' }, 1);
    expect(await pool.invoke('notifyImportOutcome', {})).toEqual({ ran: 'notifyImportOutcome' });
    expect(calls).toEqual(['search', 'generateCsvReport', 'notifyImportOutcome']);
    await Promise.all([none.close(), pool.close()]);
  });

  it('offloads the file-heavy tasks of both workflows', () => {
    expect([...OFFLOADED_TASKS].sort()).toEqual(['computeChecksum', 'generateCsvReport', 'identifyFormat', 'processImport', 'scanForViruses']);
  });

  it('a failure crosses the thread boundary with its name (what Retry and Catch match) and its field', () => {
    const crossed = structuredClone(serializedError(new InvalidInput('bad size', 'size')));
    expect(crossed).toMatchObject({ name: 'InvalidInput', message: 'bad size', field: 'size' });
    expect(serializedError('a string')).toEqual({ name: 'Error', message: 'a string' });
  });

  it('runs an offloaded task on a worker thread with the real handler, and its failure comes back named, the pool intact', async () => {
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
});
