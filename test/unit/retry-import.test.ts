import { describe, expect, it } from 'vitest';
import { Conflict, NotFound } from '../../core/errors';
import type { ImportJob } from '../../core/import/job';
import type { ImportRecord } from '../../core/import/records';
import { retryImport } from '../../core/retry';
import { InMemoryImportRecords } from './import-fakes';
import { alice, bob, FakeExecutions, InMemoryAuditLog, ManualClock } from './fakes';

/** The owner's Retry (`POST /api/imports/{id}/retry`): the admin Retry's use case, for one's own FAILED import. */
describe('an owner retrying an import', () => {
  it('retry their FAILED import as a new execution of its failed files, linked to the original in the audit log', async () => {
    const deps = retryDeps();
    const { executionArn } = await failedBatch(deps, ['SUCCEEDED', 'FAILED']);

    const retry = await retryImport(deps, alice, 'f-2');

    expect(retry.executionArn).toBe(executionArn.replace(/:b-1$/, ':b-1-r1'));
    expect(deps.executions.started[1]).toMatchObject({ workflow: 'import', name: 'b-1-r1', input: { importIds: ['f-2'], retryOf: executionArn } });
    expect((await deps.imports.get('f-2'))?.status).toBe('RUNNING');
    expect((await deps.imports.get('f-1'))?.status).toBe('SUCCEEDED');
    expect((await deps.audit.list({ limit: 10 })).entries).toEqual([
      expect.objectContaining({ id: 'import:b-1:RETRIED', outcome: 'RETRIED', executionArn, retriedBy: retry.executionArn, userId: alice.userId }),
    ]);
  });

  it('retry by the batch id too, and refuse a second Retry once the first one runs (Conflict)', async () => {
    const deps = retryDeps();
    await failedBatch(deps, ['FAILED', 'FAILED']);

    const first = await retryImport(deps, alice, 'b-1');

    expect(first.executionArn).toMatch(/:b-1-r1$/);
    expect(deps.executions.started).toHaveLength(2);
    // The retry set the files RUNNING: nothing has failed (yet) to retry again.
    await expect(retryImport(deps, alice, 'f-2')).rejects.toBeInstanceOf(Conflict);
    expect(deps.executions.started[1]?.input).toMatchObject({ importIds: ['f-1', 'f-2'] });
  });

  it("find another user's import, or an unknown id, not found", async () => {
    const deps = retryDeps();
    await failedBatch(deps, ['FAILED']);

    await expect(retryImport(deps, bob, 'f-1')).rejects.toBeInstanceOf(NotFound);
    await expect(retryImport(deps, bob, 'b-1')).rejects.toBeInstanceOf(NotFound);
    await expect(retryImport(deps, alice, 'f-nope')).rejects.toBeInstanceOf(NotFound);
    await expect(retryImport(deps, alice, '../f-1')).rejects.toBeInstanceOf(NotFound);
    expect(deps.executions.started).toHaveLength(1);
  });

  it('refuse an import that is not FAILED (Conflict), and one whose workflow never started', async () => {
    const deps = retryDeps();
    await failedBatch(deps, ['SUCCEEDED', 'FAILED']);
    await expect(retryImport(deps, alice, 'f-1')).rejects.toBeInstanceOf(Conflict);

    await deps.imports.create([{ ...fileRecord('f-9', 'FAILED'), batchId: 'b-9' }]);
    await expect(retryImport(deps, alice, 'f-9')).rejects.toBeInstanceOf(Conflict);
    expect(deps.executions.started).toHaveLength(1);
  });
});

function retryDeps() {
  const clock = new ManualClock();
  return { executions: new FakeExecutions(clock), imports: new InMemoryImportRecords(), audit: new InMemoryAuditLog(), clock };
}

/** A batch `b-1` of files `f-1…` in the given statuses, whose execution failed (as one FAILED file makes it). */
async function failedBatch(deps: ReturnType<typeof retryDeps>, statuses: ImportRecord['status'][]) {
  const importIds = statuses.map((_, i) => `f-${i + 1}`);
  const job: ImportJob = {
    batchId: 'b-1',
    importIds,
    requestedBy: { userId: alice.userId, username: alice.username, email: alice.email },
    delivery: 'direct',
    requestedAt: '2024-06-01T12:00:00.000Z',
    maxConcurrency: 3,
  };
  const { executionArn } = await deps.executions.start('import', 'b-1', job);
  deps.executions.fail(executionArn, 'FAILED', 'ImportFailed');
  await deps.imports.create(statuses.map((status, i) => ({ ...fileRecord(importIds[i] ?? '', status), executionArn })));
  return { executionArn };
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
