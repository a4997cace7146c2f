import { describe, expect, it } from 'vitest';
import { auditLog, executionsWithStatus } from '../../core/admin';
import { Conflict, Forbidden, NotFound } from '../../core/errors';
import type { ExportJob } from '../../core/export/job';
import type { ImportJob } from '../../core/import/job';
import { PENDING_CHECKS, type ImportRecord } from '../../core/import/records';
import { retryExecution, retryNameOf } from '../../core/retry';
import { InMemoryImportRecords } from './import-fakes';
import type { User } from '../../core/model';
import { alice, FakeExecutions, HOUR, InMemoryAuditLog, ManualClock } from './fakes';

const admin: User = { userId: 'user-admin', username: 'admin', email: 'admin@example.com', groups: ['admin'] };

describe('admin use-cases', () => {
  it('refuse members who are not in the admin group', async () => {
    const deps = {
      audit: new InMemoryAuditLog(),
      executions: new FakeExecutions(),
      imports: new InMemoryImportRecords(),
      clock: new ManualClock(),
    };
    await expect(auditLog(deps, alice, { limit: 10 })).rejects.toBeInstanceOf(Forbidden);
    await expect(executionsWithStatus(deps, alice, 'FAILED', 10)).rejects.toBeInstanceOf(Forbidden);
    await expect(retryExecution(deps, alice, 'arn:x')).rejects.toBeInstanceOf(Forbidden);
  });

  it('list failed executions of every workflow, newest first, up to the limit', async () => {
    const clock = new ManualClock();
    const executions = new FakeExecutions(clock);
    const names: string[] = [];
    for (const workflow of ['export', 'import', 'export'] as const) {
      const { executionArn } = await executions.start(workflow, `run-${names.length}`, {});
      executions.fail(executionArn, 'FAILED', 'ExportFailed');
      names.push(executionArn);
      clock.advance(HOUR);
    }
    await executions.start('export', 'still-running', {});

    const failed = await executionsWithStatus({ executions }, admin, 'FAILED', 2);

    expect(failed.map((e) => e.name)).toEqual(['run-2', 'run-1']);
    expect(failed.map((e) => e.workflow)).toEqual(['export', 'import']);
  });

  it('retry a failed export as a new execution of the same job, linked both ways in the audit log, and the same one when asked twice', async () => {
    const deps = retryDeps();
    const job: ExportJob = {
      exportId: 'e-1',
      requestedBy: alice,
      delivery: 'email',
      searchCriteria: { q: 'ferry' },
      columns: ['id', 'content'],
      requestedAt: '2024-06-01T12:00:00.000Z',
    };
    const { executionArn } = await deps.executions.start('export', 'e-1', job);
    deps.executions.fail(executionArn, 'FAILED', 'ExportFailed');

    const first = await retryExecution(deps, admin, executionArn);
    const second = await retryExecution(deps, admin, executionArn);

    expect(first.executionArn).toBe(executionArn.replace(/:e-1$/, ':e-1-r1'));
    expect(second).toEqual(first);
    expect(deps.executions.started.slice(1)).toEqual([
      {
        workflow: 'export',
        name: 'e-1-r1',
        executionArn: first.executionArn,
        input: { ...job, exportId: 'e-1-r1', retryOf: executionArn },
      },
    ]);
    const { entries } = await deps.audit.list({ limit: 10 });
    expect(entries).toEqual([
      expect.objectContaining({
        id: 'export:e-1:RETRIED',
        outcome: 'RETRIED',
        executionArn,
        retriedBy: first.executionArn,
        userId: alice.userId,
      }),
    ]);
  });

  it('retry only the files of a batch that failed (or never ended), under the batch name plus -r1', async () => {
    const deps = retryDeps();
    await deps.imports.create([
      fileRecord('f-1', 'SUCCEEDED'),
      fileRecord('f-2', 'FAILED'),
      fileRecord('f-3', 'REJECTED'),
      fileRecord('f-4', 'RUNNING'),
      fileRecord('f-5', 'QUARANTINED'),
    ]);
    const job: ImportJob = {
      batchId: 'b-1',
      importIds: ['f-1', 'f-2', 'f-3', 'f-4', 'f-5'],
      requestedBy: { userId: alice.userId, username: alice.username, email: alice.email },
      delivery: 'direct',
      requestedAt: '2024-06-01T12:00:00.000Z',
      maxConcurrency: 3,
    };
    const { executionArn } = await deps.executions.start('import', 'b-1', job);
    deps.executions.fail(executionArn, 'FAILED', 'ImportFailed');

    const retry = await retryExecution(deps, admin, executionArn);

    expect(retry.executionArn).toMatch(/:ferry-import:b-1-r1$/);
    expect(deps.executions.started[1]?.input).toEqual({ ...job, importIds: ['f-2', 'f-4'], retryOf: executionArn });
    const statuses = await Promise.all(job.importIds.map(async (id) => (await deps.imports.get(id))?.status));
    expect(statuses).toEqual(['SUCCEEDED', 'RUNNING', 'REJECTED', 'RUNNING', 'QUARANTINED']);
    expect((await deps.imports.get('f-2'))?.checks).toEqual(PENDING_CHECKS);
    expect((await deps.audit.list({ limit: 10 })).entries).toEqual([
      expect.objectContaining({ id: 'import:b-1:RETRIED', kind: 'import', executionArn, retriedBy: retry.executionArn }),
    ]);
    // Asked again after the retry changed the records: the same execution, nothing reset or started.
    await deps.imports.update('f-2', { status: 'SUCCEEDED' }, deps.clock.now());
    expect(await retryExecution(deps, admin, executionArn)).toEqual(retry);
    expect(deps.executions.started).toHaveLength(2);
    expect((await deps.imports.get('f-2'))?.status).toBe('SUCCEEDED');
  });

  it('refuse to retry a running or succeeded execution (Conflict), a batch with no failed file, and an unknown one (NotFound)', async () => {
    const deps = retryDeps();
    const running = await deps.executions.start('export', 'e-run', { exportId: 'e-run', requestedBy: alice });
    await expect(retryExecution(deps, admin, running.executionArn)).rejects.toBeInstanceOf(Conflict);
    deps.executions.succeed(running.executionArn, {});
    await expect(retryExecution(deps, admin, running.executionArn)).rejects.toBeInstanceOf(Conflict);

    await deps.imports.create([fileRecord('f-9', 'REJECTED')]);
    const ended = await deps.executions.start('import', 'f-9', { importIds: ['f-9'], requestedBy: alice });
    deps.executions.fail(ended.executionArn, 'FAILED', 'ImportFailed');
    await expect(retryExecution(deps, admin, ended.executionArn)).rejects.toBeInstanceOf(Conflict);

    await expect(retryExecution(deps, admin, `${running.executionArn}-nope`)).rejects.toBeInstanceOf(NotFound);
    expect(deps.executions.started).toHaveLength(2);
  });

  it('name a retry of a retry with the next number', () => {
    expect(retryNameOf('e-1')).toBe('e-1-r1');
    expect(retryNameOf('e-1-r1')).toBe('e-1-r2');
    expect(retryNameOf('e-1-r9')).toBe('e-1-r10');
  });
});

function retryDeps() {
  const clock = new ManualClock();
  return { executions: new FakeExecutions(clock), imports: new InMemoryImportRecords(), audit: new InMemoryAuditLog(), clock };
}

function fileRecord(importId: string, status: ImportRecord['status']): ImportRecord {
  const at = '2024-06-01T12:00:00.000Z';
  return {
    importId,
    batchId: 'b-1',
    owner: { userId: alice.userId, username: alice.username, email: alice.email },
    fileName: `${importId}.csv`,
    size: 10,
    contentType: 'text/csv',
    delivery: 'direct',
    status,
    checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
    upload: { bucket: 'uploads', key: `uploads/${alice.userId}/${importId}/r`, method: 'post' },
    createdAt: at,
    updatedAt: at,
  };
}
