import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { Conflict, Transient, UploadChanged } from '../../core/errors';
import {
  computeChecksum,
  handleImportFailure,
  identifyImportFormat,
  notifyImportOutcome,
  processImport,
  quarantineFile,
  rejectFile,
  scanForViruses,
  IMPORT_INDEX_BATCH,
  type CheckResults,
} from '../../core/import/tasks';
import { COMMITTING_IMPORT_REASON, cancelOrDeleteImport } from '../../core/import/jobs';
import { CANCELLED_IMPORT_REASON } from '../../core/import/records';
import { SqliteSearchSource } from '../../adapters/local/sqlite-search';
import { plainImportFailure, UPLOAD_CHANGED_REASON } from '../../core/import/messages';
import { createImport, importStatus } from '../../core/import/use-cases';
import { createHash } from 'node:crypto';
import { alice, bob, etagOf } from './fakes';
import { OpenSearchSource } from '../../adapters/aws/opensearch-search';
import { makeImportDeps, type ImportDeps } from './import-fakes';
import { OpenSearchModel } from './opensearch-model';
import { clientOn } from './opensearch-wire';
import type { ImportJob } from '../../core/import/job';

const EXECUTION = 'arn:aws:states:us-east-1:1:execution:ferry-import:x';
const HEADER = 'userId,dateCreated,content,tags';
const goodRow = (n: number) => `${alice.userId},2024-01-${String((n % 28) + 1).padStart(2, '0')}T10:00:00Z,post number ${n},ferry;sea`;

/** 20 data rows, every tenth one bad (no valid date). */
const csvWithBadRows = () =>
  [HEADER, ...Array.from({ length: 20 }, (_, i) => (i % 10 === 4 ? `${alice.userId},yesterday,bad row ${i},` : goodRow(i)))].join('\n') +
  '\n';

/** An import created for alice and uploaded with `body`. */
async function uploaded(deps: ImportDeps, body: string | Buffer, extra: Record<string, unknown> = {}) {
  const created = await createImport(deps, alice, {
    fileName: 'posts.csv',
    size: Buffer.byteLength(body),
    contentType: 'text/csv',
    type: 'email',
    ...extra,
  });
  if (!('importId' in created)) throw new Error('expected one import');
  const record = await deps.imports.get(created.importId);
  deps.objects.put(record?.upload.bucket ?? '', record?.upload.key ?? '', body, 'text/csv');
  // As the object-created event does: the object that arrived is pinned by its ETag.
  await deps.imports.markUploaded(created.importId, deps.clock.now(), { etag: etagOf(body), bytes: Buffer.byteLength(body) });
  return {
    importId: created.importId,
    upload: record?.upload ?? { bucket: '', key: '' },
    input: { importId: created.importId, executionArn: EXECUTION },
  };
}

const jobOf = (importIds: string[], delivery: ImportJob['delivery'] = 'email'): ImportJob => ({
  importIds,
  requestedBy: { userId: alice.userId, username: alice.username, email: alice.email },
  delivery,
  requestedAt: '2024-06-01T12:00:00.000Z',
  maxConcurrency: 4,
});

describe('the checks', () => {
  it('scanForViruses records clean and infected verdicts on the import', async () => {
    const deps = makeImportDeps();
    const clean = await uploaded(deps, csvWithBadRows());
    const infected = await uploaded(deps, `${HEADER}\nEICAR,2024-01-01T00:00:00Z,x,\n`);

    expect(await scanForViruses(deps, clean.input)).toEqual({ clean: true });
    expect(await scanForViruses(deps, infected.input)).toEqual({ clean: false, signature: 'Eicar-Test-Signature' });
    expect((await deps.imports.get(clean.importId))?.checks.antivirus).toBe('clean');
    expect((await deps.imports.get(infected.importId))?.checks.antivirus).toBe('infected');
    expect((await deps.imports.get(clean.importId))?.executionArn).toBe(EXECUTION);
  });

  it('scanForViruses passes a scanner failure on and leaves the check pending (fail closed)', async () => {
    const deps = makeImportDeps();
    deps.scanner.failure = new Transient('clamd at 127.0.0.1:3310 is unreachable');
    const file = await uploaded(deps, csvWithBadRows());
    await expect(scanForViruses(deps, file.input)).rejects.toBeInstanceOf(Transient);
    expect((await deps.imports.get(file.importId))?.checks.antivirus).toBe('pending');
  });

  it('computeChecksum verifies the browser hash, reports a mismatch, and a wrong size as a mismatch', async () => {
    const deps = makeImportDeps();
    const body = csvWithBadRows();
    const sha256 = createHash('sha256').update(body).digest('hex');
    const verified = await uploaded(deps, body, { sha256 });
    const wrong = await uploaded(deps, body, { sha256: 'f'.repeat(64) });
    const unverified = await uploaded(deps, body);
    const shorter = await uploaded(deps, body, { size: Buffer.byteLength(body) + 1 });

    expect(await computeChecksum(deps, verified.input)).toMatchObject({ sha256, verdict: 'verified' });
    expect(await computeChecksum(deps, wrong.input)).toMatchObject({ sha256, expectedSha256: 'f'.repeat(64), verdict: 'mismatch' });
    expect(await computeChecksum(deps, unverified.input)).toMatchObject({ sha256, verdict: 'unverified' });
    expect(await computeChecksum(deps, shorter.input)).toMatchObject({
      bytes: Buffer.byteLength(body),
      expectedBytes: Buffer.byteLength(body) + 1,
      verdict: 'mismatch',
    });
    expect((await deps.imports.get(wrong.importId))?.checks.checksum).toBe('mismatch');
    expect((await deps.imports.get(verified.importId))?.computedSha256).toBe(sha256);
  });

  it('identifyImportFormat tells CSV from something else by content, whatever the claimed type', async () => {
    const deps = makeImportDeps();
    const csvFile = await uploaded(deps, csvWithBadRows(), { contentType: 'application/pdf' });
    const pdf = await uploaded(deps, '%PDF-1.7\n%âãÏÓ\n', { contentType: 'text/csv' });

    expect(await identifyImportFormat(deps, csvFile.input)).toMatchObject({ format: 'csv' });
    expect(await identifyImportFormat(deps, pdf.input)).toMatchObject({ format: 'unknown', reason: expect.stringContaining('PDF') });
    expect((await deps.imports.get(pdf.importId))?.checks.format).toBe('unknown');
  });
});

describe('the outcomes', () => {
  it('quarantineFile moves the file to quarantine, alerts the admins and audits it; running it twice is harmless', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, 'EICAR');

    await quarantineFile(deps, { ...file.input, signature: 'Eicar-Test-Signature' });
    await quarantineFile(deps, { ...file.input, signature: 'Eicar-Test-Signature' });

    const record = await deps.imports.get(file.importId);
    expect(record).toMatchObject({
      status: 'QUARANTINED',
      quarantine: { bucket: 'quarantine', key: `quarantine/${alice.userId}/${file.importId}`, signature: 'Eicar-Test-Signature' },
    });
    expect(deps.objects.has(file.upload.bucket, file.upload.key)).toBe(false);
    expect(deps.objects.text('quarantine', `quarantine/${alice.userId}/${file.importId}`)).toBe('EICAR');
    const [alert] = deps.mailer.to('admins@example.com');
    expect(alert?.subject).toContain('Eicar-Test-Signature');
    expect(alert?.text).toContain('alice');
    expect(deps.mailer.sent).toHaveLength(1);
    expect(deps.audit.entries.get(`import:${file.importId}:QUARANTINED`)).toMatchObject({
      outcome: 'QUARANTINED',
      error: 'Eicar-Test-Signature',
      executionArn: EXECUTION,
    });
    expect(deps.search.posts).toEqual([]);
  });

  it('rejectFile records the reason in words, deletes the upload and audits it', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, '%PDF-1.7\n');
    const checks: CheckResults = {
      antivirus: { clean: true },
      checksum: { sha256: 'a'.repeat(64), bytes: 9, expectedBytes: 9, verdict: 'unverified' },
      format: { format: 'unknown', reason: 'the file is a PDF document, not CSV or NDJSON' },
    };

    await rejectFile(deps, { ...file.input, checks });
    const record = await deps.imports.get(file.importId);
    expect(record?.status).toBe('REJECTED');
    expect(record?.reason).toBe('The file is not CSV or NDJSON: the file is a PDF document, not CSV or NDJSON.');
    expect(deps.objects.has(file.upload.bucket, file.upload.key)).toBe(false);
    expect(deps.audit.entries.get(`import:${file.importId}:REJECTED`)?.error).toBe(record?.reason);
  });

  it('processImport indexes the valid rows with deterministic ids, reports the rejected ones and keeps the original', async () => {
    const deps = makeImportDeps();
    const body = csvWithBadRows();
    const file = await uploaded(deps, body);

    const outcome = await processImport(deps, { ...file.input, format: 'csv' });

    expect(outcome).toEqual({ importId: file.importId, status: 'SUCCEEDED', rowsImported: 18, rowsRejected: 2 });
    expect(deps.search.posts.map((post) => post.id).sort()).toEqual(
      [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20].map((row) => `${file.importId}-${row}`).sort(),
    );
    expect(deps.search.posts.find((post) => post.id === `${file.importId}-1`)).toEqual({
      id: `${file.importId}-1`,
      userId: alice.userId,
      dateCreated: '2024-01-01T10:00:00Z',
      content: 'post number 0',
      tags: ['ferry', 'sea'],
    });
    const record = await deps.imports.get(file.importId);
    expect(record).toMatchObject({
      status: 'SUCCEEDED',
      rowsImported: 18,
      rowsRejected: 2,
      permanentKey: `imports/${alice.userId}/${file.importId}/original`,
    });
    const report = parse(deps.objects.text('permanent', record?.errorReportKey ?? ''), { columns: true }) as Array<Record<string, string>>;
    // The record has no detected layout here (no format check ran), so the report is line, error and the raw row.
    expect(report.map((row) => [row.line, row.raw])).toEqual([
      ['6', `${alice.userId},yesterday,bad row 4,`],
      ['16', `${alice.userId},yesterday,bad row 14,`],
    ]);
    expect(report[0]?.error).toMatch(/dateCreated/);
    expect(deps.objects.has(file.upload.bucket, file.upload.key)).toBe(false);
    expect(deps.objects.text('permanent', `imports/${alice.userId}/${file.importId}/original`)).toBe(body);
    expect(deps.audit.entries.get(`import:${file.importId}:SUCCEEDED`)).toMatchObject({ rowCount: 18 });
    expect(record).toMatchObject({ rowsCreated: 18, rowsUpdated: 0, rowsUnchanged: 0 });
    expect(deps.search.staged.size).toBe(0);
  });

  it('processImport run again (a retry or redrive) duplicates nothing, even after the original moved', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    await processImport(deps, { ...file.input, format: 'csv' });
    // As if the record update had been lost: the task runs again with the original already moved.
    await deps.imports.update(file.importId, { status: 'RUNNING' }, deps.clock.now());

    expect(await processImport(deps, { ...file.input, format: 'csv' })).toMatchObject({
      status: 'SUCCEEDED',
      rowsImported: 18,
      rowsRejected: 2,
    });
    expect(deps.search.posts).toHaveLength(18);
  });

  it('processImport puts the rows the search store refuses into the error report with its reason; the last bulk refreshes', async () => {
    const deps = makeImportDeps();
    const model = new OpenSearchModel();
    const search = new OpenSearchSource(clientOn(model.handle), 'posts');
    await search.ensureIndex();
    await search.ensureStagingIndex();
    // The row schema accepts any number of fraction digits; OpenSearch's date type refuses more than nine.
    const tooPrecise = `${alice.userId},2024-01-02T10:00:00.1234567890Z,too precise,ferry`;
    const body = [HEADER, goodRow(1), tooPrecise, goodRow(3)].join('\n') + '\n';
    const file = await uploaded(deps, body);

    const outcome = await processImport({ ...deps, search }, { ...file.input, format: 'csv' });

    expect(outcome).toEqual({ importId: file.importId, status: 'SUCCEEDED', rowsImported: 2, rowsRejected: 1 });
    expect(model.documents('posts').map((doc) => doc.id)).toEqual([`${file.importId}-3`, `${file.importId}-1`]);
    expect(model.documents('posts-staging-v1')).toEqual([]);
    // The first delete by query clears what an earlier attempt may have staged; the last forgets the committed staging.
    expect(model.refreshes).toEqual(['delete_by_query:true', 'wait_for', 'delete_by_query:true']);
    const record = await deps.imports.get(file.importId);
    const report = parse(deps.objects.text('permanent', record?.errorReportKey ?? ''), { columns: true }) as Array<Record<string, string>>;
    expect(report.map((row) => row.line)).toEqual(['3']);
    expect(report[0]?.error).toMatch(/^OpenSearch refused the row: mapper_parsing_exception: failed to parse field \[dateCreated\]/);
    // The refused row as it was in the file, so it can be fixed and uploaded again.
    expect(report[0]?.raw).toBe(tooPrecise);
  });

  it('processImport reads NDJSON too', async () => {
    const deps = makeImportDeps();
    const lines = [
      JSON.stringify({ userId: alice.userId, dateCreated: '2024-02-01T00:00:00Z', content: 'one', tags: ['a'] }),
      JSON.stringify({ dateCreated: '2024-02-02T00:00:00Z', content: 'two' }),
      '{"userId": 3}',
    ];
    const file = await uploaded(deps, `${lines.join('\n')}\n`, { contentType: 'application/x-ndjson' });

    expect(await processImport(deps, { ...file.input, format: 'ndjson' })).toMatchObject({ rowsImported: 2, rowsRejected: 1 });
    expect(deps.search.posts.map((post) => post.content).sort()).toEqual(['one', 'two']);
  });

  it('processImport rejects a file that turns unreadable part-way with nothing of it searchable or staged', async () => {
    const deps = makeImportDeps();
    // More rows than one staging batch before the unreadable bytes, so some were staged when it stopped.
    const rows = Array.from({ length: 2500 }, (_, i) => goodRow(i));
    const body = Buffer.concat([Buffer.from(`${HEADER}\n${rows.join('\n')}\n`), Buffer.from([0xff, 0xfe, 0x0a])]);
    const file = await uploaded(deps, body);

    const outcome = await processImport(deps, { ...file.input, format: 'csv' });
    expect(outcome).toMatchObject({ status: 'REJECTED', rowsImported: 0 });
    expect(deps.search.posts).toEqual([]);
    expect(deps.search.staged.size).toBe(0);
    const record = await deps.imports.get(file.importId);
    expect(record?.reason).toMatch(/stopped being readable.*nothing was imported/);
    expect(record).toMatchObject({ rowsImported: 0, rowsCreated: 0, rowsUpdated: 0, rowsUnchanged: 0 });
  });
});

describe('upsert by id and authorship', () => {
  const ID_HEADER = 'id,userId,dateCreated,content,tags';
  const row = (id: string, content: string, userId = alice.userId) => `${id},${userId},2024-03-01T10:00:00Z,${content},ferry`;
  const importFile = async (deps: ImportDeps, lines: string[], user = alice) => {
    const body = [ID_HEADER, ...lines].join('\n') + '\n';
    const created = await createImport(deps, user, {
      fileName: 'posts.csv',
      size: Buffer.byteLength(body),
      contentType: 'text/csv',
      type: 'direct',
    });
    if (!('importId' in created)) throw new Error('expected one import');
    const record = await deps.imports.get(created.importId);
    deps.objects.put(record?.upload.bucket ?? '', record?.upload.key ?? '', body, 'text/csv');
    await deps.imports.markUploaded(created.importId, deps.clock.now());
    await processImport(deps, { importId: created.importId, executionArn: EXECUTION, format: 'csv' });
    return (await deps.imports.get(created.importId))!;
  };
  const countsOf = (record: Awaited<ReturnType<typeof importFile>>) => ({
    rowsImported: record.rowsImported,
    rowsCreated: record.rowsCreated,
    rowsUpdated: record.rowsUpdated,
    rowsUnchanged: record.rowsUnchanged,
    rowsRejected: record.rowsRejected,
  });
  const reportOf = (deps: ImportDeps, record: Awaited<ReturnType<typeof importFile>>) =>
    parse(deps.objects.text('permanent', record.errorReportKey ?? ''), { columns: true }) as Array<Record<string, string>>;

  it('importing the same file again changes nothing; an edited row updates its post, a new id creates one', async () => {
    const deps = makeImportDeps();
    const first = await importFile(deps, [row('p-1', 'one'), row('p-2', 'two')]);
    expect(countsOf(first)).toEqual({ rowsImported: 2, rowsCreated: 2, rowsUpdated: 0, rowsUnchanged: 0, rowsRejected: 0 });

    const again = await importFile(deps, [row('p-1', 'one'), row('p-2', 'two')]);
    expect(countsOf(again)).toEqual({ rowsImported: 2, rowsCreated: 0, rowsUpdated: 0, rowsUnchanged: 2, rowsRejected: 0 });

    const edited = await importFile(deps, [row('p-1', 'one'), row('p-2', 'two edited'), row('p-3', 'three')]);
    expect(countsOf(edited)).toEqual({ rowsImported: 3, rowsCreated: 1, rowsUpdated: 1, rowsUnchanged: 1, rowsRejected: 0 });
    expect(deps.search.posts.map((post) => [post.id, post.content]).sort()).toEqual([
      ['p-1', 'one'],
      ['p-2', 'two edited'],
      ['p-3', 'three'],
    ]);
  });

  it('a date written with another offset but the same instant is unchanged', async () => {
    const deps = makeImportDeps();
    await importFile(deps, [row('p-1', 'one')]);
    const shifted = await importFile(deps, [`p-1,${alice.userId},2024-03-01T12:00:00+02:00,one,ferry`]);
    expect(countsOf(shifted)).toMatchObject({ rowsUnchanged: 1, rowsUpdated: 0 });
  });

  it("a member's row with another user's userId, or another user's post id, is rejected with the reason", async () => {
    const deps = makeImportDeps();
    await importFile(deps, [row('bobs-post', 'by bob', bob.userId)], { ...bob, groups: ['members'] });
    const record = await importFile(deps, [row('p-1', 'mine'), row('p-2', 'posing as bob', bob.userId), row('bobs-post', 'taken over')]);
    expect(countsOf(record)).toEqual({ rowsImported: 1, rowsCreated: 1, rowsUpdated: 0, rowsUnchanged: 0, rowsRejected: 2 });
    expect(reportOf(deps, record).map((r) => [r.line, r.error])).toEqual([
      ['3', `userId is ${bob.userId}, not yours (${alice.userId}): you can import only your own posts`],
      ['4', "id bobs-post belongs to another user's post: you can update only your own posts"],
    ]);
    expect(deps.search.posts.find((post) => post.id === 'bobs-post')?.content).toBe('by bob');
  });

  it('an admin may import on behalf of others; the audit entry counts those rows', async () => {
    const deps = makeImportDeps();
    const admin = { ...alice, userId: 'user-admin', username: 'admin', groups: ['admin'] };
    const record = await importFile(
      deps,
      [row('p-1', 'for alice'), row('p-2', 'for bob', bob.userId), row('p-3', 'mine', admin.userId)],
      admin,
    );
    expect(countsOf(record)).toMatchObject({ rowsCreated: 3, rowsRejected: 0 });
    expect(record.onBehalfRows).toBe(2);
    expect(deps.audit.entries.get(`import:${record.importId}:SUCCEEDED`)).toMatchObject({ rowCount: 3, onBehalfRows: 2 });
  });

  it('a retry after the commit was claimed only completes the commit, keeping the counts it staged with', async () => {
    const deps = makeImportDeps();
    await importFile(deps, [row('p-1', 'one')]);
    const body = [ID_HEADER, row('p-1', 'one edited'), row('p-2', 'two')].join('\n') + '\n';
    const file = await uploaded(deps, body);
    // The task died after recording its staging, before the commit finished: half of it is already stored.
    await deps.search.stagePosts(file.importId, [
      { id: 'p-1', userId: alice.userId, dateCreated: '2024-03-01T10:00:00Z', content: 'one edited', tags: ['ferry'] },
      { id: 'p-2', userId: alice.userId, dateCreated: '2024-03-01T10:00:00Z', content: 'two', tags: ['ferry'] },
    ]);
    await deps.search.indexPosts([
      { id: 'p-2', userId: alice.userId, dateCreated: '2024-03-01T10:00:00Z', content: 'two', tags: ['ferry'] },
    ]);
    const staged = { rowsCreated: 1, rowsUpdated: 1, rowsUnchanged: 0, rowsRejected: 0, onBehalfRows: 0 };
    await deps.imports.update(file.importId, { status: 'COMMITTING', staged }, deps.clock.now());

    expect(await processImport(deps, { ...file.input, format: 'csv' })).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2 });
    expect(countsOf((await deps.imports.get(file.importId))!)).toEqual({
      rowsImported: 2,
      rowsCreated: 1,
      rowsUpdated: 1,
      rowsUnchanged: 0,
      rowsRejected: 0,
    });
    expect(deps.search.posts.map((post) => [post.id, post.content]).sort()).toEqual([
      ['p-1', 'one edited'],
      ['p-2', 'two'],
    ]);
    expect(deps.search.staged.size).toBe(0);
  });
});

describe('an id repeated within one file', () => {
  const ID_HEADER = 'id,userId,dateCreated,content,tags';
  const row = (id: string, content: string) => `${id},${alice.userId},2024-03-01T10:00:00Z,${content},ferry`;
  const reportOf = async (deps: ImportDeps, importId: string) =>
    parse(deps.objects.text('permanent', (await deps.imports.get(importId))?.errorReportKey ?? ''), { columns: true }) as Array<
      Record<string, string>
    >;
  // More rows than one staging batch, so the repeat and its first row are staged in different calls.
  const manyRows = Array.from({ length: IMPORT_INDEX_BATCH + 5 }, (_, i) => row(`p-${i + 1}`, `post ${i + 1}`));

  it('the first row with the id is imported; each later one is rejected with the line it repeats', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, [ID_HEADER, row('p-1', 'one'), row('p-2', 'two'), row('p-1', 'one again'), row('p-1', 'and again')].join('\n') + '\n');

    expect(await processImport(deps, { ...file.input, format: 'csv' })).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2, rowsRejected: 2 });
    expect((await deps.imports.get(file.importId))?.rowsCreated).toBe(2);
    expect(deps.search.posts.map((post) => [post.id, post.content]).sort()).toEqual([
      ['p-1', 'one'],
      ['p-2', 'two'],
    ]);
    expect((await reportOf(deps, file.importId)).map((r) => [r.line, r.error])).toEqual([
      ['4', 'id p-1 is repeated; first seen on line 2'],
      ['5', 'id p-1 is repeated; first seen on line 2'],
    ]);
  });

  it('a repeat far from its first row is found by the staging itself (the SQLite store: its key per import and id)', async () => {
    const deps = makeImportDeps();
    const search = new SqliteSearchSource(':memory:');
    const file = await uploaded(deps, [ID_HEADER, ...manyRows, row('p-3', 'three edited further down')].join('\n') + '\n');

    expect(await processImport({ ...deps, search }, { ...file.input, format: 'csv' })).toMatchObject({
      status: 'SUCCEEDED',
      rowsImported: manyRows.length,
      rowsRejected: 1,
    });
    expect((await search.postsById(['p-3'])).get('p-3')?.content).toBe('post 3');
    expect(search.count()).toBe(manyRows.length);
    expect((await reportOf(deps, file.importId)).map((r) => [r.line, r.error])).toEqual([
      [String(manyRows.length + 2), 'id p-3 is repeated: an earlier line of this file has the same id'],
    ]);
    search.close();
  });

  it('a retry of a task that died part-way through staging restages the file: no row of its own reads as a repeat', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, [ID_HEADER, ...manyRows].join('\n') + '\n');
    const stage = deps.search.stagePosts.bind(deps.search);
    let calls = 0;
    // The first attempt stages one batch, then its connection drops.
    deps.search.stagePosts = async (importId, posts) => {
      if (++calls === 2) throw new Transient('OpenSearch: connection reset');
      return stage(importId, posts);
    };
    await expect(processImport(deps, { ...file.input, format: 'csv' })).rejects.toBeInstanceOf(Transient);
    expect(deps.search.staged.get(file.importId)?.size).toBe(IMPORT_INDEX_BATCH);

    expect(await processImport(deps, { ...file.input, format: 'csv' })).toMatchObject({
      status: 'SUCCEEDED',
      rowsImported: manyRows.length,
      rowsRejected: 0,
    });
    expect((await deps.imports.get(file.importId))?.rowsCreated).toBe(manyRows.length);
    expect(deps.search.posts).toHaveLength(manyRows.length);
  });
});

describe('a cancel racing the commit: either the cancel wins and nothing is searchable, or the commit wins and the cancel is refused', () => {
  const cancel = (deps: ImportDeps, importId: string) => cancelOrDeleteImport(deps, alice, importId);

  it('a cancel landing after the staging and before the commit claims the import wins: nothing commits, nothing stays staged', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    const updateIf = deps.imports.updateIf.bind(deps.imports);
    let cancelled: Awaited<ReturnType<typeof cancel>> | undefined;
    deps.imports.updateIf = async (importId, change, at, from) => {
      if (change.status === 'COMMITTING') cancelled = await cancel(deps, importId);
      return updateIf(importId, change, at, from);
    };

    const outcome = await processImport(deps, { ...file.input, format: 'csv' });

    expect(cancelled).toEqual({ cancelled: true });
    expect(outcome).toMatchObject({ status: 'CANCELLED', rowsImported: 0 });
    expect((await deps.imports.get(file.importId))?.reason).toBe(CANCELLED_IMPORT_REASON);
    expect(deps.search.posts).toEqual([]);
    expect(deps.search.staged.size).toBe(0);
    expect(deps.audit.entries.has(`import:${file.importId}:SUCCEEDED`)).toBe(false);
  });

  it('a cancel landing once the commit has claimed the import is refused (409); the import succeeds with every row', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    const commit = deps.search.commitStaged.bind(deps.search);
    let refusal: unknown;
    let committingView: unknown;
    deps.search.commitStaged = async (importId) => {
      // COMMITTING is the record's own: the status endpoint still says RUNNING.
      expect((await deps.imports.get(importId))?.status).toBe('COMMITTING');
      committingView = await importStatus(deps, alice, importId);
      refusal = await cancel(deps, importId).catch((error: unknown) => error);
      return commit(importId);
    };

    expect(await processImport(deps, { ...file.input, format: 'csv' })).toMatchObject({ status: 'SUCCEEDED', rowsImported: 18 });
    expect(committingView).toMatchObject({ status: 'RUNNING' });
    expect(refusal).toBeInstanceOf(Conflict);
    expect((refusal as Conflict).message).toBe(COMMITTING_IMPORT_REASON);
    expect(deps.search.posts).toHaveLength(18);
    expect(deps.audit.entries.has(`import:${file.importId}:CANCELLED`)).toBe(false);
  });

  it('a DELETE that finds no task running discards what an earlier attempt staged', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    // An attempt staged a batch and died; its failure handler never ran.
    await deps.search.stagePosts(file.importId, [
      { id: `${file.importId}-1`, userId: alice.userId, dateCreated: '2024-01-01T10:00:00Z', content: 'post number 0', tags: [] },
    ]);

    expect(await cancel(deps, file.importId)).toEqual({ cancelled: true });
    expect((await deps.imports.get(file.importId))?.status).toBe('CANCELLED');
    expect(deps.search.staged.size).toBe(0);
    // A late attempt finds the import ended and commits nothing.
    expect(await processImport(deps, { ...file.input, format: 'csv' })).toMatchObject({ status: 'CANCELLED', rowsImported: 0 });
    expect(deps.search.posts).toEqual([]);
  });
});

describe('the pinned upload: bytes swapped in after arrival are never read', () => {
  const CLEAN = `${HEADER}\n${goodRow(1)}\n`;
  const SWAPPED = `${HEADER}\nEICAR,2024-01-01T00:00:00Z,swapped,\n`;

  it('each check refuses an upload replaced after it arrived (UploadChanged) and leaves its verdict pending', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, CLEAN);
    deps.objects.put(file.upload.bucket, file.upload.key, SWAPPED, 'text/csv');

    await expect(scanForViruses(deps, file.input)).rejects.toBeInstanceOf(UploadChanged);
    await expect(computeChecksum(deps, file.input)).rejects.toBeInstanceOf(UploadChanged);
    await expect(identifyImportFormat(deps, file.input)).rejects.toBeInstanceOf(UploadChanged);
    expect(deps.scanner.scanned).toBe(0);
    expect((await deps.imports.get(file.importId))?.checks).toEqual({ antivirus: 'pending', checksum: 'pending', format: 'pending' });
  });

  it('the checks read the object that arrived as long as it is unchanged', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, CLEAN);
    deps.objects.put(file.upload.bucket, file.upload.key, CLEAN, 'text/csv');

    expect(await scanForViruses(deps, file.input)).toEqual({ clean: true });
    expect(await computeChecksum(deps, file.input)).toMatchObject({ bytes: Buffer.byteLength(CLEAN), verdict: 'unverified' });
    expect((await identifyImportFormat(deps, file.input)).format).toBe('csv');
  });

  it('processImport refuses an upload swapped after the checks: nothing indexed, nothing moved, no report', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, CLEAN);
    deps.objects.put(file.upload.bucket, file.upload.key, SWAPPED, 'text/csv');

    await expect(processImport(deps, { ...file.input, format: 'csv' })).rejects.toBeInstanceOf(UploadChanged);
    expect(deps.search.posts).toEqual([]);
    expect([...deps.objects.objects.keys()].filter((key) => key.startsWith('permanent/'))).toEqual([]);
    expect((await deps.imports.get(file.importId))?.status).toBe('RUNNING');
  });

  it('quarantineFile refuses to move an upload swapped after the scan: nothing copied, no alert', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, 'EICAR');
    deps.objects.put(file.upload.bucket, file.upload.key, CLEAN, 'text/csv');

    await expect(quarantineFile(deps, { ...file.input, signature: 'Eicar-Test-Signature' })).rejects.toBeInstanceOf(UploadChanged);
    expect(deps.objects.has('quarantine', `quarantine/${alice.userId}/${file.importId}`)).toBe(false);
    expect(deps.mailer.sent).toEqual([]);
  });

  it('rejectFile for a changed upload: REJECTED with the plain reason, the swapped object deleted, audited', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, CLEAN);
    deps.objects.put(file.upload.bucket, file.upload.key, SWAPPED, 'text/csv');

    await rejectFile(deps, { ...file.input, failure: { Error: 'UploadChanged', Cause: 'its ETag changed' } });
    const record = await deps.imports.get(file.importId);
    expect(record).toMatchObject({ status: 'REJECTED', reason: UPLOAD_CHANGED_REASON });
    expect(record?.reason).toMatch(/^The file changed after it was uploaded/);
    expect(deps.objects.has(file.upload.bucket, file.upload.key)).toBe(false);
    expect(deps.audit.entries.get(`import:${file.importId}:REJECTED`)?.error).toBe(UPLOAD_CHANGED_REASON);
  });
});

describe('notification and failure', () => {
  it('notifyImportOutcome emails the user a summary with a link to the rejected rows', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    await processImport(deps, { ...file.input, format: 'csv' });

    const summary = await notifyImportOutcome(deps, { executionArn: EXECUTION, job: jobOf([file.importId]) });
    expect(summary).toEqual({ files: 1, succeeded: 1, quarantined: 0, rejected: 0, failed: 0, rowsImported: 18, rowsRejected: 2 });
    const [mail] = deps.mailer.to(alice.email);
    expect(mail?.subject).toBe('Your import is done (18 rows imported)');
    expect(mail?.text).toContain('posts.csv: SUCCEEDED, 18 rows imported, 2 rejected');
    expect(mail?.text).toMatch(/Rejected rows and why: https:\/\/objects\.test\/permanent\//);
  });

  it('notifyImportOutcome pushes to a connected browser, and does nothing for direct delivery', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    await deps.rendezvous.attachConnection(`import:${file.importId}`, 'conn-1');

    await notifyImportOutcome(deps, { executionArn: EXECUTION, job: jobOf([file.importId], 'push') });
    expect(deps.push.posted).toEqual([
      {
        connectionId: 'conn-1',
        message: expect.objectContaining({
          type: 'import.finished',
          id: file.importId,
          files: [expect.objectContaining({ status: 'RUNNING' })],
        }),
      },
    ]);
    await notifyImportOutcome(deps, { executionArn: EXECUTION, job: jobOf([file.importId], 'direct') });
    expect(deps.mailer.sent).toEqual([]);
    expect(deps.push.posted).toHaveLength(1);
  });

  it('a scan that timed out FAILS the file with that reason in its status', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    const failure = {
      Error: 'ScanTimedOut',
      Cause: JSON.stringify({ errorType: 'ScanTimedOut', errorMessage: 'clamd at 127.0.0.1:3310 gave no verdict within 600000 ms' }),
    };
    await handleImportFailure(deps, { executionArn: EXECUTION, importId: file.importId, failure });
    const record = await deps.imports.get(file.importId);
    expect(record?.status).toBe('FAILED');
    expect(record?.reason).toBe(
      'The virus scanner did not answer within the time allowed, so nothing from the file was imported. The Ferry team has been told.',
    );
  });

  it('handleImportFailure for one file: FAILED in plain words, audited, admins alerted, user not yet told', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    const failure = {
      Error: 'Transient',
      Cause: JSON.stringify({ errorType: 'Transient', errorMessage: 'clamd at 127.0.0.1:3310 is unreachable' }),
    };

    await handleImportFailure(deps, { executionArn: EXECUTION, importId: file.importId, failure });
    const record = await deps.imports.get(file.importId);
    expect(record).toMatchObject({ status: 'FAILED', reason: plainImportFailure(failure) });
    expect(record?.reason).not.toContain('clamd');
    expect(deps.audit.entries.get(`import:${file.importId}:FAILED`)?.error).toBe('Transient: clamd at 127.0.0.1:3310 is unreachable');
    expect(deps.mailer.to('admins@example.com')).toHaveLength(1);
    expect(deps.mailer.to(alice.email)).toEqual([]);
  });

  it('handleImportFailure for the whole job fails only unfinished files and tells the user', async () => {
    const deps = makeImportDeps();
    const done = await uploaded(deps, csvWithBadRows());
    const pending = await uploaded(deps, csvWithBadRows());
    await processImport(deps, { ...done.input, format: 'csv' });

    await handleImportFailure(deps, {
      executionArn: EXECUTION,
      job: jobOf([done.importId, pending.importId]),
      failure: { Error: 'States.Timeout' },
    });
    expect((await deps.imports.get(done.importId))?.status).toBe('SUCCEEDED');
    expect(await deps.imports.get(pending.importId)).toMatchObject({
      status: 'FAILED',
      reason: 'The import took too long and was stopped.',
    });
    expect(deps.mailer.to(alice.email)[0]?.subject).toBe('Your batch of 2 files finished with problems');
  });
});

describe('all or nothing on failure: a file that does not succeed leaves nothing searchable or staged', () => {
  const failure = { Error: 'States.Timeout' };

  it('handleImportFailure discards the rows a file staged before its task died', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    // What processImport had staged when its Lambda timed out, before the commit.
    await deps.search.stagePosts(file.importId, [
      { id: `${file.importId}-1`, userId: alice.userId, dateCreated: '2024-01-01T10:00:00Z', content: 'post number 0', tags: [] },
    ]);

    await handleImportFailure(deps, { executionArn: EXECUTION, importId: file.importId, failure });

    expect((await deps.imports.get(file.importId))?.status).toBe('FAILED');
    expect(deps.search.staged.has(file.importId)).toBe(false);
    expect(deps.search.posts).toEqual([]);
  });

  it('handleImportFailure for the whole job discards every file that did not succeed and keeps the succeeded one', async () => {
    const deps = makeImportDeps();
    const done = await uploaded(deps, csvWithBadRows());
    const pending = await uploaded(deps, csvWithBadRows());
    await processImport(deps, { ...done.input, format: 'csv' });
    await deps.search.stagePosts(pending.importId, [
      { id: `${pending.importId}-1`, userId: alice.userId, dateCreated: '2024-01-01T10:00:00Z', content: 'staged only', tags: [] },
    ]);

    await handleImportFailure(deps, { executionArn: EXECUTION, job: jobOf([done.importId, pending.importId]), failure });

    expect(deps.search.staged.size).toBe(0);
    expect(deps.search.posts).toHaveLength(18);
    expect(deps.search.posts.every((post) => post.id.startsWith(done.importId))).toBe(true);
  });

  it('handleImportFailure run again (a retry of the task) discards again and fails nothing twice', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    await handleImportFailure(deps, { executionArn: EXECUTION, importId: file.importId, failure });
    // A processImport still running after the timeout staged one more batch.
    await deps.search.stagePosts(file.importId, [
      { id: `${file.importId}-2`, userId: alice.userId, dateCreated: '2024-01-02T10:00:00Z', content: 'late batch', tags: [] },
    ]);

    await handleImportFailure(deps, { executionArn: EXECUTION, importId: file.importId, failure });

    expect(deps.search.staged.has(file.importId)).toBe(false);
    expect(deps.mailer.to('admins@example.com')).toHaveLength(1);
  });

  it('processImport commits nothing when the import failed or was cancelled while it staged', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    const stage = deps.search.stagePosts.bind(deps.search);
    // The failure handler (a States.Timeout) runs while this task is still staging its rows.
    deps.search.stagePosts = async (importId, posts) => {
      const outcome = await stage(importId, posts);
      await handleImportFailure(deps, { executionArn: EXECUTION, importId: file.importId, failure });
      return outcome;
    };

    const outcome = await processImport(deps, { ...file.input, format: 'csv' });

    expect(outcome).toMatchObject({ importId: file.importId, status: 'FAILED', rowsImported: 0 });
    expect(deps.search.posts).toEqual([]);
    expect(deps.search.staged.size).toBe(0);
    expect(deps.audit.entries.has(`import:${file.importId}:SUCCEEDED`)).toBe(false);
  });

  it('a file whose commit kept failing, then retried, stages again and imports every row (the failure discarded its staging)', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    const commit = deps.search.commitStaged.bind(deps.search);
    deps.search.commitStaged = async () => {
      throw new Transient('OpenSearch: 503');
    };
    await expect(processImport(deps, { ...file.input, format: 'csv' })).rejects.toBeInstanceOf(Transient);
    await handleImportFailure(deps, { executionArn: EXECUTION, importId: file.importId, failure });
    expect(deps.search.staged.size).toBe(0);

    // The owner's Retry: the record runs again (core/retry.ts), the staging is back to work.
    deps.search.commitStaged = commit;
    await deps.imports.update(file.importId, { status: 'RUNNING' }, deps.clock.now());
    expect(await processImport(deps, { ...file.input, format: 'csv' })).toMatchObject({ status: 'SUCCEEDED', rowsImported: 18 });
    expect(deps.search.posts).toHaveLength(18);
  });

  it('processImport of an import that already ended FAILED discards what an earlier attempt staged, and commits nothing', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csvWithBadRows());
    await deps.search.stagePosts(file.importId, [
      { id: `${file.importId}-1`, userId: alice.userId, dateCreated: '2024-01-01T10:00:00Z', content: 'post number 0', tags: [] },
    ]);
    await deps.imports.update(file.importId, { status: 'FAILED', reason: 'The import was cancelled.' }, deps.clock.now());

    expect(await processImport(deps, { ...file.input, format: 'csv' })).toMatchObject({ status: 'FAILED', rowsImported: 0 });
    expect(deps.search.staged.size).toBe(0);
    expect(deps.search.posts).toEqual([]);
  });
});
