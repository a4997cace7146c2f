import { describe, expect, it } from 'vitest';
import { InvalidInput, NotFound } from '../../core/errors';
import { cancelOrDeleteExport, getExport, listExports, shareExport, unshareExport } from '../../core/export/jobs';
import type { ExportJob } from '../../core/export/job';
import { readyMail, searchInWords } from '../../core/export/messages';
import { generateCsvReport, recordExportRequest } from '../../core/export/tasks';
import { requestExport } from '../../core/export/use-cases';
import { HOUR, alice, bob, carol, makeFakeDeps, makePosts, type FakeDeps } from './fakes';
import { InMemoryExportRecords } from './job-fakes';
import { describeExportRecords } from './specs/export-records-spec';

describeExportRecords('InMemoryExportRecords', async () => ({ port: new InMemoryExportRecords() }));

const jobOf = (deps: FakeDeps, index = 0) => deps.executions.started[index]!.input as ExportJob;

/** Requests an export and runs its first two tasks, as the workflow would. */
async function finishedExport(deps: FakeDeps, request: Parameters<typeof requestExport>[2] = { delivery: 'direct', searchCriteria: {} }) {
  const { executionArn, exportId } = await requestExport(deps, alice, request);
  const job = jobOf(deps, deps.executions.started.length - 1);
  await recordExportRequest(deps, job, executionArn);
  await generateCsvReport(deps, job);
  return { executionArn, exportId };
}

describe('an export job', () => {
  it('is in its owner\'s list as QUEUED the moment it is requested, with the search in words', async () => {
    const deps = makeFakeDeps(makePosts(3));
    const { exportId, executionArn } = await requestExport(deps, alice, { delivery: 'email', searchCriteria: { q: 'river', tags: ['travel'] } });
    const { items } = await listExports(deps, alice, { limit: 10 });
    expect(items).toEqual([
      expect.objectContaining({ kind: 'export', exportId, executionArn, status: 'QUEUED', owner: 'alice', searchSummary: 'posts matching "river" tagged travel', sharedWith: [] }),
    ]);
  });

  it('is SUCCEEDED, with rows, size and expiry, as soon as its file exists, whatever the delivery still does', async () => {
    const deps = makeFakeDeps(makePosts(3));
    const { exportId } = await finishedExport(deps, { delivery: 'push', searchCriteria: {} });
    const view = await getExport(deps, alice, exportId);
    expect(view).toMatchObject({ status: 'SUCCEEDED', rowCount: 3, expiresAt: '2024-06-04T12:00:00.000Z', fileName: 'ferry-export-2024-06-01-120000.csv' });
    expect(view.bytes).toBeGreaterThan(0);
    expect(view.url).toMatch(/^https:\/\/objects\.test\/ferry-exports-test\/exports\/user-alice\/export-0001\.csv\?/);
  });

  it('is EXPIRED, with no link, once its file\'s time is up', async () => {
    const deps = makeFakeDeps(makePosts(1));
    const { exportId } = await finishedExport(deps);
    deps.clock.advance(72 * HOUR);
    const view = await getExport(deps, alice, exportId);
    expect(view.status).toBe('EXPIRED');
    expect(view).not.toHaveProperty('url');
  });

  it('handing out a fresh link is audited as a download by whoever asked', async () => {
    const deps = makeFakeDeps(makePosts(1));
    const { exportId } = await finishedExport(deps, { delivery: 'direct', searchCriteria: {}, shareWith: ['bob'] });
    await getExport(deps, bob, exportId);
    const downloads = [...deps.audit.entries.values()].filter((entry) => entry.outcome === 'DOWNLOADED');
    expect(downloads.map((entry) => [entry.username, entry.subject])).toEqual([['alice', 'bob']]);
  });
});

describe('sharing an export', () => {
  it('on the request: the people named see it in their list with owner and shared, and can fetch its link', async () => {
    const deps = makeFakeDeps(makePosts(2));
    const { exportId } = await finishedExport(deps, { delivery: 'direct', searchCriteria: {}, shareWith: ['bob'] });
    const { items } = await listExports(deps, bob, { limit: 10 });
    expect(items).toEqual([expect.objectContaining({ exportId, owner: 'alice', shared: true })]);
    expect(items[0]).not.toHaveProperty('sharedWith');
    expect((await getExport(deps, bob, exportId)).url).toBeDefined();
  });

  it('is invisible to anyone else: a third user gets NotFound', async () => {
    const deps = makeFakeDeps(makePosts(2));
    const { exportId } = await finishedExport(deps, { delivery: 'direct', searchCriteria: {}, shareWith: ['bob'] });
    await expect(getExport(deps, carol, exportId)).rejects.toBeInstanceOf(NotFound);
    expect((await listExports(deps, carol, { limit: 10 })).items).toEqual([]);
  });

  it('with unknown usernames is a 400 naming them, and nothing starts', async () => {
    const deps = makeFakeDeps();
    const error = await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {}, shareWith: ['bob', 'zed', 'yan'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).message).toBe('No such user: zed, yan.');
    expect((error as InvalidInput).field).toBe('shareWith');
    expect(deps.executions.started).toEqual([]);
  });

  it('later, tells each new person by email with a link to the export\'s page, audits the grant, and revokes', async () => {
    const deps = makeFakeDeps(makePosts(2));
    const { exportId } = await finishedExport(deps);
    const shared = await shareExport(deps, alice, exportId, ['bob', 'carol']);
    expect(shared.sharedWith).toEqual(['bob', 'carol']);
    expect(deps.mailer.sent.map((mail) => mail.to)).toEqual(['bob@example.com', 'carol@example.com']);
    expect(deps.mailer.sent[0]?.text).toContain(`https://ferry.test/#/exports/${exportId}`);
    expect(deps.mailer.sent[0]?.subject).toBe('alice shared a Ferry export with you');

    expect((await unshareExport(deps, alice, exportId, 'bob')).sharedWith).toEqual(['carol']);
    await expect(getExport(deps, bob, exportId)).rejects.toBeInstanceOf(NotFound);
    const outcomes = [...deps.audit.entries.values()].filter((e) => e.outcome === 'SHARED' || e.outcome === 'UNSHARED');
    expect(outcomes.map((e) => [e.outcome, e.subject])).toEqual([
      ['SHARED', 'bob'],
      ['SHARED', 'carol'],
      ['UNSHARED', 'bob'],
    ]);
  });

  it('only its owner may share it: to anyone else it does not exist', async () => {
    const deps = makeFakeDeps(makePosts(2));
    const { exportId } = await finishedExport(deps, { delivery: 'direct', searchCriteria: {}, shareWith: ['bob'] });
    await expect(shareExport(deps, bob, exportId, ['carol'])).rejects.toBeInstanceOf(NotFound);
    await expect(cancelOrDeleteExport(deps, bob, exportId)).rejects.toBeInstanceOf(NotFound);
  });
});

describe('cancelling and deleting an export', () => {
  it('cancels a running export: stops its execution, and the file written after does not survive', async () => {
    const deps = makeFakeDeps(makePosts(5));
    const { exportId, executionArn } = await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {} });
    const job = jobOf(deps);
    await recordExportRequest(deps, job, executionArn);
    expect(await cancelOrDeleteExport(deps, alice, exportId)).toEqual({ cancelled: true });
    expect(deps.executions.executions.get(executionArn)?.status).toBe('ABORTED');
    // The Lambda StopExecution cannot stop finishes its upload; it sees the cancel and removes the file.
    await generateCsvReport(deps, job);
    expect([...deps.objects.objects.keys()]).toEqual([]);
    expect((await getExport(deps, alice, exportId)).status).toBe('CANCELLED');
    expect([...deps.audit.entries.values()].map((e) => e.outcome)).toContain('CANCELLED');
  });

  it('deletes a finished export: its file and its record are gone, and it is audited', async () => {
    const deps = makeFakeDeps(makePosts(5));
    const { exportId } = await finishedExport(deps);
    expect(deps.objects.objects.size).toBe(1);
    expect(await cancelOrDeleteExport(deps, alice, exportId)).toEqual({ cancelled: false });
    expect(deps.objects.objects.size).toBe(0);
    await expect(getExport(deps, alice, exportId)).rejects.toBeInstanceOf(NotFound);
    expect([...deps.audit.entries.values()].map((e) => e.outcome)).toContain('DELETED');
  });
});

describe('a report whose job is cancelled while it is written', () => {
  it('stops at its next check (about every second) and stores no file: StopExecution cannot stop the Lambda, so the task stops itself', async () => {
    const deps = makeFakeDeps(makePosts(5_000));
    const { exportId, executionArn } = await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {} });
    const job = jobOf(deps);
    await recordExportRequest(deps, job, executionArn);
    // Each batch takes a second; the owner cancels after the second batch.
    const search = deps.search;
    const slowSearch = Object.assign(Object.create(search) as typeof search, {
      async *scan(...args: Parameters<typeof search.scan>) {
        let batches = 0;
        for await (const batch of search.scan(...args)) {
          deps.clock.advance(1_000);
          if (++batches === 2) await cancelOrDeleteExport(deps, alice, exportId);
          yield batch;
        }
      },
    });

    await expect(generateCsvReport({ ...deps, search: slowSearch }, job)).rejects.toThrow('The export was cancelled.');
    expect(deps.search.batchesServed).toBeLessThan(10);
    expect(deps.objects.objects.size).toBe(0);
    expect((await getExport(deps, alice, exportId)).status).toBe('CANCELLED');
  });
});

describe('the export email', () => {
  it('says what was exported, the rows and size, the expiry as a UTC date, and links to the export\'s page', () => {
    const job: ExportJob = { exportId: 'e-1', requestedBy: alice, delivery: 'email', searchCriteria: { q: 'river', from: '2024-01-01' }, requestedAt: '2024-06-01T12:00:00.000Z' };
    const mail = readyMail(job, { bucket: 'b', key: 'k', rowCount: 1234, bytes: 56_789, expiresAt: '2024-06-04T12:00:00.000Z' }, 'https://link', 'https://ferry.test/');
    expect(mail.text).toContain('Your export of posts matching "river" from 2024-01-01 is ready: 1,234 rows, 56.8 KB.');
    expect(mail.text).toContain('The link works until Tuesday, 4 June 2024 at 12:00 UTC; after that the file is deleted.');
    expect(mail.text).toContain('https://ferry.test/#/exports/e-1');
    expect(mail.html).toContain('href="https://ferry.test/#/exports/e-1"');
  });

  it('words every kind of search', () => {
    expect(searchInWords({})).toBe('all posts');
    expect(searchInWords({ userId: 'u1', to: '2024-02-01' })).toBe('posts by u1 up to 2024-02-01');
    expect(searchInWords({ tags: ['a', 'b'], from: '2024-01-01', to: '2024-02-01' })).toBe('posts tagged a, b from 2024-01-01 to 2024-02-01');
  });
});
