import { describe, expect, it } from 'vitest';
import type { ExportJobView } from '../../core/contract';
import { NotFound } from '../../core/errors';
import {
  cancelOrDeleteExport,
  effectiveStatus,
  getExport,
  unshareExport,
  exportJobView,
  jobAuditEntry,
  ownedExportOfExecution,
  ownedExportRecord,
  peopleNamed,
  progressOf,
  visibleExport,
} from '../../core/export/jobs';
import type { ExportJob } from '../../core/export/job';
import type { ExportRecord } from '../../core/export/records';
import { generateCsvReport, recordExportRequest } from '../../core/export/tasks';
import { requestExport } from '../../core/export/use-cases';
import { alice, bob, carol, InMemoryExportProgress, makeFakeDeps, makePosts } from './fakes';
import { FixedUserDirectory, InMemoryExportRecords } from './job-fakes';

/** What each person sees of an export record, and the audit entries about it, as whole values. */

const NOW = new Date('2024-06-02T12:00:00.000Z');
const person = ({ userId, username, email }: typeof alice) => ({ userId, username, email });
const admin = { userId: 'user-dana', username: 'dana', email: 'dana@example.com', groups: ['admin'] };

const record = (fields: Partial<ExportRecord> = {}): ExportRecord => ({
  exportId: 'e-1',
  owner: person(alice),
  delivery: 'email',
  searchCriteria: { q: 'river' },
  status: 'QUEUED',
  createdAt: '2024-06-01T12:00:00.000Z',
  updatedAt: '2024-06-01T12:00:00.000Z',
  sharedWith: [person(bob)],
  ...fields,
});

const finished = record({
  status: 'SUCCEEDED',
  executionArn: 'arn:aws:states:eu-west-1:1:execution:export:e-1',
  columns: ['id', 'content'],
  rowCount: 0,
  bytes: 0,
  fileName: 'ferry-export.csv',
  startedAt: '2024-06-01T12:00:01.000Z',
  finishedAt: '2024-06-01T12:00:09.000Z',
  expiresAt: '2024-06-04T12:00:00.000Z',
  bucket: 'exports',
  key: 'exports/e-1.csv',
});

describe('the status an export shows', () => {
  it('is EXPIRED from the moment its file’s time is up, and only for a SUCCEEDED one', () => {
    const expiring = record({ status: 'SUCCEEDED', expiresAt: NOW.toISOString() });
    expect(effectiveStatus(expiring, new Date(NOW.getTime() - 1))).toBe('SUCCEEDED');
    expect(effectiveStatus(expiring, NOW)).toBe('EXPIRED');
    expect(effectiveStatus(record({ status: 'SUCCEEDED' }), NOW)).toBe('SUCCEEDED');
    expect(effectiveStatus(record({ status: 'FAILED', expiresAt: '2024-01-01T00:00:00.000Z' }), NOW)).toBe('FAILED');
  });
});

describe('an export job as each person sees it', () => {
  it('shows its owner everything it has, with whom it is shared', () => {
    expect(exportJobView(finished, alice, NOW)).toEqual<ExportJobView>({
      kind: 'export',
      exportId: 'e-1',
      executionArn: 'arn:aws:states:eu-west-1:1:execution:export:e-1',
      delivery: 'email',
      searchCriteria: { q: 'river' },
      searchSummary: 'posts matching "river"',
      columns: ['id', 'content'],
      status: 'SUCCEEDED',
      rowCount: 0,
      bytes: 0,
      fileName: 'ferry-export.csv',
      createdAt: '2024-06-01T12:00:00.000Z',
      startedAt: '2024-06-01T12:00:01.000Z',
      finishedAt: '2024-06-01T12:00:09.000Z',
      expiresAt: '2024-06-04T12:00:00.000Z',
      sharedWith: ['bob'],
      owner: 'alice',
    });
  });

  it('shows a grantee that it was shared, not with whom', () => {
    // Strictly: what the record lacks has no key at all in the view.
    expect(exportJobView(record({ status: 'FAILED', error: 'The export took too long and was stopped.' }), bob, NOW)).toStrictEqual<ExportJobView>({
      kind: 'export',
      exportId: 'e-1',
      delivery: 'email',
      searchCriteria: { q: 'river' },
      searchSummary: 'posts matching "river"',
      status: 'FAILED',
      createdAt: '2024-06-01T12:00:00.000Z',
      error: 'The export took too long and was stopped.',
      owner: 'alice',
      shared: true,
    });
  });

  it('shows an admin who is not the owner with whom it is shared, and that it is not theirs', () => {
    expect(exportJobView(record(), admin, NOW)).toMatchObject({ sharedWith: ['bob'], shared: true, owner: 'alice' });
  });

  it('shows progress only while the export is queued or running', () => {
    const progress = { rowsWritten: 10, totalRows: 20 };
    expect(exportJobView(record({ status: 'QUEUED' }), alice, NOW, progress).progress).toEqual(progress);
    expect(exportJobView(record({ status: 'RUNNING' }), alice, NOW, progress).progress).toEqual(progress);
    expect(exportJobView(record({ status: 'SUCCEEDED' }), alice, NOW, progress)).not.toHaveProperty('progress');
    expect(exportJobView(record({ status: 'RUNNING' }), alice, NOW)).not.toHaveProperty('progress');
  });
});

describe('reading an export’s progress', () => {
  it('gives rows written and the total when known, for an active export only', async () => {
    const exportProgress = new InMemoryExportProgress();
    await exportProgress.record('e-1', { rowsWritten: 5, totalRows: 9, updatedAt: '2024-06-01T12:00:05.000Z' });
    await exportProgress.record('e-2', { rowsWritten: 3, updatedAt: '2024-06-01T12:00:05.000Z' });
    expect(await progressOf({ exportProgress }, record({ status: 'RUNNING' }))).toEqual({ rowsWritten: 5, totalRows: 9 });
    expect(await progressOf({ exportProgress }, record({ exportId: 'e-2', status: 'QUEUED' }))).toStrictEqual({ rowsWritten: 3 });
    expect(await progressOf({ exportProgress }, record({ exportId: 'e-3', status: 'RUNNING' }))).toBeUndefined();
    expect(await progressOf({ exportProgress }, record({ status: 'CANCELLED' }))).toBeUndefined();
  });

  it('answers without progress, and warns, when it cannot be read', async () => {
    const exportProgress = new InMemoryExportProgress();
    exportProgress.failure = new Error('table unavailable');
    const warnings: Array<[unknown, string]> = [];
    const log = { warn: (fields: unknown, message: string) => void warnings.push([fields, message]) };
    expect(await progressOf({ exportProgress, log }, record({ status: 'RUNNING' }))).toBeUndefined();
    expect(warnings).toEqual([[{ exportId: 'e-1', err: exportProgress.failure }, 'Could not read export progress']]);
  });
});

describe('who may reach an export', () => {
  const store = async () => {
    const exportJobs = new InMemoryExportRecords();
    await exportJobs.create(finished);
    return exportJobs;
  };

  it('lets the owner and the people it is shared with see it; anyone else gets NotFound', async () => {
    const exportJobs = await store();
    expect((await visibleExport(exportJobs, alice, 'e-1')).exportId).toBe('e-1');
    expect((await visibleExport(exportJobs, bob, 'e-1')).exportId).toBe('e-1');
    await expect(visibleExport(exportJobs, carol, 'e-1')).rejects.toEqual(new NotFound('No export with that id.'));
    await expect(visibleExport(exportJobs, alice, 'e-9')).rejects.toEqual(new NotFound('No export with that id.'));
  });

  it('lets only the owner act on it', async () => {
    const exportJobs = await store();
    expect((await ownedExportRecord(exportJobs, alice, 'e-1')).exportId).toBe('e-1');
    await expect(ownedExportRecord(exportJobs, bob, 'e-1')).rejects.toEqual(new NotFound('No export with that id.'));
    await expect(ownedExportRecord(exportJobs, alice, 'e-9')).rejects.toEqual(new NotFound('No export with that id.'));
  });

  it('never looks up an id Ferry could not have issued', async () => {
    const exportJobs = await store();
    const looked: string[] = [];
    const get = exportJobs.get.bind(exportJobs);
    exportJobs.get = (id: string) => {
      looked.push(id);
      return get(id);
    };
    await expect(visibleExport(exportJobs, alice, 'e/1')).rejects.toBeInstanceOf(NotFound);
    await expect(ownedExportRecord(exportJobs, alice, `e-${'1'.repeat(80)}`)).rejects.toBeInstanceOf(NotFound);
    await expect(ownedExportOfExecution(exportJobs, alice, 'arn:aws:states:eu-west-1:1:execution:export:')).rejects.toBeInstanceOf(NotFound);
    expect(looked).toEqual([]);
    await expect(visibleExport(exportJobs, alice, 'E-1')).rejects.toBeInstanceOf(NotFound);
    expect(looked).toEqual(['E-1']);
  });

  it('finds the owner’s export by the execution that runs it, and only when the record names that execution', async () => {
    const exportJobs = await store();
    const arn = 'arn:aws:states:eu-west-1:1:execution:export:e-1';
    expect((await ownedExportOfExecution(exportJobs, alice, arn)).exportId).toBe('e-1');
    await expect(ownedExportOfExecution(exportJobs, bob, arn)).rejects.toEqual(new NotFound('No export with that executionArn.'));
    await expect(ownedExportOfExecution(exportJobs, alice, 'arn:aws:states:eu-west-1:1:execution:other:e-1')).rejects.toEqual(
      new NotFound('No export with that executionArn.'),
    );
  });
});

describe('naming people to share with', () => {
  const users = new FixedUserDirectory([alice, bob, carol].map(person));

  it('looks each name up once', async () => {
    expect(await peopleNamed(users, ['bob', 'carol', 'bob'], 'usernames')).toEqual([person(bob), person(carol)]);
  });

  it('is a 400 on the field, naming every unknown username', async () => {
    await expect(peopleNamed(users, ['bob', 'zed', 'yan', 'zed'], 'shareWith')).rejects.toMatchObject({
      name: 'InvalidInput',
      message: 'No such user: zed, yan.',
      field: 'shareWith',
    });
  });
});

describe('the audit entries about an export', () => {
  it('are one per outcome, with what was exported', () => {
    expect(jobAuditEntry(finished, 'DELETED', NOW)).toEqual({
      id: 'export:e-1:DELETED',
      kind: 'export',
      executionArn: 'arn:aws:states:eu-west-1:1:execution:export:e-1',
      userId: 'user-alice',
      username: 'alice',
      delivery: 'email',
      searchCriteria: { q: 'river' },
      rowCount: 0,
      outcome: 'DELETED',
      requestedAt: '2024-06-01T12:00:00.000Z',
      recordedAt: '2024-06-02T12:00:00.000Z',
    });
  });

  it('carry the person and the time in the id of those that may repeat', () => {
    expect(jobAuditEntry(record(), 'SHARED', NOW, { subject: 'bob', unique: true })).toStrictEqual({
      id: 'export:e-1:SHARED:bob:2024-06-02T12:00:00.000Z',
      kind: 'export',
      userId: 'user-alice',
      username: 'alice',
      delivery: 'email',
      searchCriteria: { q: 'river' },
      outcome: 'SHARED',
      subject: 'bob',
      requestedAt: '2024-06-01T12:00:00.000Z',
      recordedAt: '2024-06-02T12:00:00.000Z',
    });
    expect(jobAuditEntry(record(), 'DOWNLOADED', NOW, { unique: true }).id).toBe('export:e-1:DOWNLOADED::2024-06-02T12:00:00.000Z');
    expect(jobAuditEntry(record(), 'CANCELLED', NOW, { subject: 'alice' }).id).toBe('export:e-1:CANCELLED');
  });
});

describe('what cancelling, downloading and unsharing leave behind', () => {
  it('stops a running export in the canceller’s name, and keeps each download and revocation as its own audit entry', async () => {
    const deps = makeFakeDeps(makePosts(2));
    const running = await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {} });
    await recordExportRequest(deps, deps.executions.started[0]!.input as ExportJob, running.executionArn);
    expect(await cancelOrDeleteExport(deps, alice, running.exportId)).toEqual({ cancelled: true });
    expect(deps.executions.executions.get(running.executionArn)).toMatchObject({ status: 'ABORTED', cause: 'Cancelled by alice' });

    const done = await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {}, shareWith: ['bob'] });
    const job = deps.executions.started[1]!.input as ExportJob;
    await recordExportRequest(deps, job, done.executionArn);
    await generateCsvReport(deps, job);
    await getExport(deps, bob, done.exportId);
    await unshareExport(deps, alice, done.exportId, 'bob');
    const at = deps.clock.now().toISOString();
    expect([...deps.audit.entries.keys()].filter((id) => id.startsWith(`export:${done.exportId}:`) && !id.endsWith('REQUESTED'))).toEqual(
      expect.arrayContaining([`export:${done.exportId}:DOWNLOADED:bob:${at}`, `export:${done.exportId}:UNSHARED:bob:${at}`]),
    );
    await expect(unshareExport(deps, alice, done.exportId, 'bob')).rejects.toEqual(new NotFound(`${done.exportId} is not shared with bob.`));
  });
});
