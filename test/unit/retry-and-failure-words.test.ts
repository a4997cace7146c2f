import { describe, expect, it } from 'vitest';
import { requireAdmin } from '../../core/admin';
import { Conflict, Forbidden, NotFound, Transient } from '../../core/errors';
import type { ImportJob } from '../../core/import/job';
import { plainFailure } from '../../core/export/messages';
import { PENDING_CHECKS, type ImportRecord } from '../../core/import/records';
import { plainImportFailure } from '../../core/import/messages';
import { retryExecution, retryNameOf } from '../../core/retry';
import { failureDetail } from '../../core/workflow-failure';
import type { User } from '../../core/model';
import { alice, InMemoryAuditLog, ManualClock } from './fakes';
import { InMemoryImportRecords, NamedExecutions } from './import-fakes';

/** Cases the mutation run showed unasserted (test/mutation-equivalents.md lists the ones left alive). */

const admin: User = { userId: 'user-admin', username: 'admin', email: 'admin@example.com', groups: ['admin'] };
const deps = () => {
  const clock = new ManualClock();
  return { executions: new NamedExecutions(clock), imports: new InMemoryImportRecords(), audit: new InMemoryAuditLog(), clock };
};
const importJob = (importIds: string[]): ImportJob => ({
  batchId: 'b-1',
  importIds,
  requestedBy: { userId: alice.userId, username: alice.username, email: alice.email },
  delivery: 'direct',
  requestedAt: '2024-06-01T12:00:00.000Z',
  maxConcurrency: 4,
});
const file = (importId: string, status: ImportRecord['status']): ImportRecord => ({
  importId,
  batchId: 'b-1',
  owner: { userId: alice.userId, username: alice.username, email: alice.email },
  fileName: `${importId}.csv`,
  size: 10,
  contentType: 'text/csv',
  delivery: 'direct',
  status,
  checks: { ...PENDING_CHECKS },
  upload: { bucket: 'uploads', key: `uploads/${importId}`, method: 'post' },
  createdAt: '2024-06-01T12:00:00.000Z',
  updatedAt: '2024-06-01T12:00:00.000Z',
});

describe('retry names', () => {
  it('count retries of retries on, however many digits, and only at the end of the name', () => {
    expect(retryNameOf('b-1')).toBe('b-1-r1');
    expect(retryNameOf('b-1-r1')).toBe('b-1-r2');
    expect(retryNameOf('b-1-r19')).toBe('b-1-r20');
    expect(retryNameOf('b-r1-x')).toBe('b-r1-x-r1');
  });
});

describe('retrying, in words an admin reads', () => {
  it('refuses a member with a plain sentence', () => {
    expect(() => requireAdmin(alice)).toThrow(new Forbidden('This page is for administrators.'));
  });

  it('does not know an execution whose input is neither an export nor an import job', async () => {
    const d = deps();
    const { executionArn } = await d.executions.start('export', 'odd', { something: 'else' });
    d.executions.fail(executionArn, 'FAILED');
    await expect(retryExecution(d, admin, executionArn)).rejects.toThrow(new NotFound('No execution with that ARN.'));
    await expect(retryExecution(d, admin, 'arn:aws:states:us-east-1:1:execution:ferry-export:missing')).rejects.toThrow(NotFound);
    expect(d.executions.started).toHaveLength(1);
  });

  it('names the status of an execution that cannot be retried, and says when nothing is left to retry', async () => {
    const d = deps();
    const running = await d.executions.start('import', 'b-run', importJob(['a']));
    await expect(retryExecution(d, admin, running.executionArn)).rejects.toThrow(
      new Conflict('That execution is RUNNING: only a failed execution can be retried.'),
    );
    await d.imports.create([file('a', 'SUCCEEDED')]);
    const ended = await d.executions.start('import', 'b-1', importJob(['a']));
    d.executions.fail(ended.executionArn, 'FAILED');
    await expect(retryExecution(d, admin, ended.executionArn)).rejects.toThrow(
      new Conflict('Every file of that import ended (imported, rejected or quarantined): there is nothing to retry.'),
    );
  });

  it('retries the failed files of a batch whose other records are gone, skipping the missing ones', async () => {
    const d = deps();
    await d.imports.create([file('a', 'FAILED')]);
    const { executionArn } = await d.executions.start('import', 'b-1', importJob(['a', 'gone']));
    d.executions.fail(executionArn, 'FAILED');
    const retried = await retryExecution(d, admin, executionArn);
    expect(d.executions.started.at(-1)).toMatchObject({ name: 'b-1-r1', executionArn: retried.executionArn, input: { importIds: ['a'] } });
  });

  it('two Retries at once start one execution, and both answer it', async () => {
    const d = deps();
    await d.imports.create([file('a', 'FAILED')]);
    const { executionArn } = await d.executions.start('import', 'b-1', importJob(['a']));
    d.executions.fail(executionArn, 'FAILED');
    const [first, second] = await Promise.all([retryExecution(d, admin, executionArn), retryExecution(d, admin, executionArn)]);
    expect(second).toEqual(first);
    expect(first.executionArn).toBe(executionArn.replace(/:b-1$/, ':b-1-r1'));
    expect(d.executions.started.map((execution) => execution.name)).toEqual(['b-1', 'b-1-r1']);
  });

  it('passes on a start that failed for any other reason, claiming no retry', async () => {
    const d = deps();
    await d.imports.create([file('a', 'FAILED')]);
    const { executionArn } = await d.executions.start('import', 'b-1', importJob(['a']));
    d.executions.fail(executionArn, 'FAILED');
    const busy = new Transient('Step Functions throttled StartExecution');
    d.executions.start = async () => {
      throw busy;
    };
    await expect(retryExecution(d, admin, executionArn)).rejects.toBe(busy);
    expect(await d.audit.list({ limit: 10 })).toEqual({ entries: [] });
  });
});

describe('failures in words', () => {
  it('keeps the audit detail of a failure to 1,000 characters', () => {
    const detail = failureDetail({ Error: 'Error', Cause: JSON.stringify({ errorType: 'Error', errorMessage: 'x'.repeat(5000) }) });
    expect(detail).toBe(`Error: ${'x'.repeat(993)}`);
  });

  it('tells a Lambda timeout as running out of time, and going over memorySize in plain words', () => {
    expect(plainFailure({ Error: 'Sandbox.Timedout' })).toBe('The export took too long and was stopped.');
    expect(plainImportFailure({ Error: 'Sandbox.Timedout' })).toBe('The import took too long and was stopped.');
    expect(plainFailure({ Error: 'Runtime.OutOfMemory' })).toMatch(/^The export needed more memory than Ferry gives one export/);
    expect(plainImportFailure({ Error: 'Runtime.OutOfMemory' })).toMatch(/^The import needed more memory than Ferry gives one file/);
  });

  it('tells a missed heartbeat as running out of time, and a failed task as something unavailable', () => {
    expect(plainFailure({ Error: 'States.HeartbeatTimeout' })).toBe('The export took too long and was stopped.');
    expect(plainImportFailure({ Error: 'States.HeartbeatTimeout' })).toBe('The import took too long and was stopped.');
    expect(plainFailure({ Error: 'States.TaskFailed' })).toBe('A service the export depends on was unavailable. Please try again later.');
    expect(plainImportFailure({ Error: 'States.TaskFailed' })).toMatch(/^A service the import depends on/);
    expect(plainFailure({ Error: 'States.Runtime' })).toMatch(/unexpected error/);
  });
});
