import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { NotFound, UploadChanged } from '../../core/errors';
import { CANCELLED_IMPORT_REASON, type ImportRecord } from '../../core/import/records';
import type { ImportJob } from '../../core/import/job';
import { errorReportKeyOf, permanentKeyOf } from '../../core/import/keys';
import { expiredReason, repeatedIdReason, unreadableReason } from '../../core/import/messages';
import {
  awaitImportMapping,
  expireImport,
  handleImportFailure,
  identifyImportFormat,
  moveObject,
  notifyImportOutcome,
  processImport,
  rejectFile,
  scanRanges,
} from '../../core/import/tasks';
import { createImport } from '../../core/import/use-cases';
import type { User } from '../../core/model';
import type { ObjectCondition, ObjectHead, ObjectLocation } from '../../core/ports';
import { alice, bob, etagOf, InMemoryObjectStore } from './fakes';
import { makeImportDeps, type ImportDeps } from './import-fakes';

/**
 * processImport and the other tasks of statemachines/import.asl.yaml (core/import/tasks.ts), for what
 * test/unit/import-tasks.test.ts leaves open: dry runs, the error report as stored, encodings, the comparison with the
 * stored post, rows in file order, a retry reading the permanent copy, and the summary and failure handler over a job.
 */

const EXECUTION = 'arn:aws:states:us-east-1:1:execution:ferry-import:x';
const AT = '2024-03-01T10:00:00Z';
const ID_HEADER = 'id,userId,dateCreated,content,tags';
/** What the reader says of a UTF-8 file with bytes that are not UTF-8 (in its first chunk). */
const UNREADABLE = 'the file is not UTF-8 text (invalid bytes at or after byte 0)';
const admin: User = { ...alice, userId: 'user-admin', username: 'admin', groups: ['admin'] };

/** An import created for `user` and uploaded with `body`, its format identified (as the checks do). */
async function uploaded(deps: ImportDeps, body: string | Buffer, extra: Record<string, unknown> = {}, user: User = alice) {
  const created = await createImport(deps, user, {
    fileName: 'posts.csv',
    size: Buffer.byteLength(body),
    contentType: 'text/csv',
    type: 'email',
    ...extra,
  });
  if (!('importId' in created)) throw new Error('expected one import');
  const record = (await deps.imports.get(created.importId)) as ImportRecord;
  deps.objects.put(record.upload.bucket, record.upload.key, body, 'text/csv');
  await deps.imports.markUploaded(created.importId, deps.clock.now(), { etag: etagOf(body), bytes: Buffer.byteLength(body) });
  const input = { importId: created.importId, executionArn: EXECUTION };
  return {
    importId: created.importId,
    upload: record.upload,
    input,
    record: async () => (await deps.imports.get(created.importId)) as ImportRecord,
  };
}

async function imported(deps: ImportDeps, body: string | Buffer, extra: Record<string, unknown> = {}, user: User = alice) {
  const file = await uploaded(deps, body, extra, user);
  const format = await identifyImportFormat(deps, file.input);
  const outcome = await processImport(deps, { ...file.input, format: format.format === 'ndjson' ? 'ndjson' : 'csv' });
  return { ...file, outcome, after: await file.record() };
}

const csv = (...rows: string[]) => [ID_HEADER, ...rows].join('\n') + '\n';
const row = (id: string, content: string, userId = alice.userId, tags = 'sea;ferry', date = AT) =>
  `${id},${userId},${date},${content},${tags}`;
const post = (id: string, content: string, userId = alice.userId, tags = ['sea', 'ferry'], dateCreated = AT) => ({
  id,
  userId,
  dateCreated,
  content,
  tags,
});
const countsOf = (record: ImportRecord) => ({
  rowsCreated: record.rowsCreated,
  rowsUpdated: record.rowsUpdated,
  rowsUnchanged: record.rowsUnchanged,
  rowsRejected: record.rowsRejected,
  onBehalfRows: record.onBehalfRows,
});

describe('a dry run through processImport', () => {
  it('stages nothing, commits nothing and leaves the stored posts as they were, with the counts of a real run', async () => {
    const deps = makeImportDeps();
    deps.search.posts = [post('p-1', 'one')];
    const body = csv(row('p-1', 'one edited'), row('p-2', 'two'), row('p-3', 'three', alice.userId, 'x', 'never'));
    const dry = await imported(deps, body, { dryRun: true });

    expect(dry.outcome).toEqual({ importId: dry.importId, status: 'SUCCEEDED', rowsImported: 2, rowsRejected: 1 });
    expect(countsOf(dry.after)).toEqual({ rowsCreated: 1, rowsUpdated: 1, rowsUnchanged: 0, rowsRejected: 1, onBehalfRows: undefined });
    expect(deps.search.posts).toEqual([post('p-1', 'one')]);
    expect([...deps.search.staged.keys()]).toEqual([]);
  });
});

describe('the error report as stored', () => {
  it("is stored with the import's id and as CSV in the file's encoding", async () => {
    const deps = makeImportDeps();
    const file = await imported(deps, csv(row('p-1', 'one'), row('p-2', 'two', alice.userId, 'x', 'never')));
    expect(deps.objects.objects.get(`permanent/${errorReportKeyOf(file.after)}`)?.options).toEqual({
      contentType: 'text/csv; charset=utf-8',
      metadata: { 'import-id': file.importId },
    });
  });

  it('a UTF-16 CSV file is read as UTF-16: its posts hold the text, its report is UTF-16 too', async () => {
    const deps = makeImportDeps();
    const text = csv(row('p-1', 'Grüße aus Köln'), row('p-2', 'zwei', alice.userId, 'x', 'nie'));
    const file = await imported(deps, iconv.encode(text, 'utf-16le', { addBOM: true }));

    expect(file.outcome).toEqual({ importId: file.importId, status: 'SUCCEEDED', rowsImported: 1, rowsRejected: 1 });
    expect(deps.search.posts).toEqual([post('p-1', 'Grüße aus Köln')]);
    const report = deps.objects.objects.get(`permanent/${errorReportKeyOf(file.after)}`);
    expect(report?.options.contentType).toBe('text/csv; charset=utf-16le');
    expect(parse(iconv.decode(report?.body ?? Buffer.alloc(0), 'utf-16le'))).toEqual([
      ['id', 'userId', 'dateCreated', 'content', 'tags', 'line', 'error'],
      ['p-2', alice.userId, 'nie', 'zwei', 'x', '3', expect.stringMatching(/^dateCreated is not a date: nie/)],
    ]);
  });

  it("a UTF-16 NDJSON file's report is written in UTF-16 too", async () => {
    const deps = makeImportDeps();
    const bad = JSON.stringify(post('p-2', 'zwei', alice.userId, [], 'nie'));
    const text = `${JSON.stringify(post('p-1', 'eins'))}\n${bad}\n`;
    const file = await imported(deps, iconv.encode(text, 'utf-16le', { addBOM: true }));

    expect(file.outcome).toEqual({ importId: file.importId, status: 'SUCCEEDED', rowsImported: 1, rowsRejected: 1 });
    const report = deps.objects.objects.get(`permanent/${errorReportKeyOf(file.after)}`);
    expect(report?.options.contentType).toBe('text/csv; charset=utf-16le');
    expect(parse(iconv.decode(report?.body ?? Buffer.alloc(0), 'utf-16le'))).toEqual([
      ['line', 'error', 'raw'],
      ['2', expect.stringMatching(/^dateCreated is not a date: nie/), bad],
    ]);
  });

  it('an error report that cannot be stored fails the task: nothing committed, the import not ended', async () => {
    const deps = makeImportDeps();
    const refused = new Error('the permanent bucket refused the error report');
    const objects = new (class extends InMemoryObjectStore {
      override async putStream(): Promise<{ bytes: number }> {
        throw refused;
      }
    })();
    Object.assign(objects.objects, deps.objects.objects);
    const all = { ...deps, objects };
    const file = await uploaded(all, csv(row('p-1', 'one'), row('p-2', 'two')));

    await expect(processImport(all, { ...file.input, format: 'csv' })).rejects.toBe(refused);
    expect((await file.record()).status).toBe('RUNNING');
    expect(deps.search.posts).toEqual([]);
    expect(objects.has(file.upload.bucket, file.upload.key)).toBe(true);
  });

  it('lists the rejected rows in file order, whether the reader or the authorship check refused them', async () => {
    const deps = makeImportDeps();
    const file = await imported(
      deps,
      csv(
        row('p-1', 'one'),
        row('p-2', 'for bob', bob.userId),
        row('p-3', 'bad date', alice.userId, 'x', 'never'),
        row('p-4', 'for bob too', bob.userId),
        row('p-5', 'bad date too', alice.userId, 'x', 'never'),
      ),
    );
    expect(file.outcome).toEqual({ importId: file.importId, status: 'SUCCEEDED', rowsImported: 1, rowsRejected: 4 });
    const report = parse(deps.objects.text('permanent', errorReportKeyOf(file.after))) as string[][];
    expect(report.map((line) => line[5])).toEqual(['line', '3', '4', '5', '6']);
  });
});

describe('a file that turns unreadable', () => {
  it('is REJECTED and audited with the reason, nothing of it staged', async () => {
    const deps = makeImportDeps();
    const body = Buffer.concat([
      Buffer.from(csv(row('p-1', 'one'), row('p-2', 'two'))),
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from('\n'),
    ]);
    const file = await uploaded(deps, body);
    await deps.imports.update(file.importId, { encoding: 'utf-8', delimiter: ',', columns: ID_HEADER.split(',') }, deps.clock.now());

    const outcome = await processImport(deps, { ...file.input, format: 'csv' });
    const after = await file.record();
    expect(outcome).toEqual({ importId: file.importId, status: 'REJECTED', rowsImported: 0, rowsRejected: 0 });
    expect(after.reason).toBe(unreadableReason(UNREADABLE));
    expect(deps.audit.entries.get(`import:${file.importId}:REJECTED`)).toMatchObject({
      outcome: 'REJECTED',
      rowCount: 0,
      error: after.reason,
    });
    expect(deps.search.posts).toEqual([]);
    expect([...deps.search.staged.keys()]).toEqual([]);
  });
});

describe('created, updated or unchanged: the row against the post stored under its id', () => {
  it('a row differing from the stored post only in its day, a tag, its tags or (an admin importing) its author is an update', async () => {
    const deps = makeImportDeps();
    deps.search.posts = [
      post('same', 'same'),
      post('day', 'day'),
      post('more-tags', 'more tags'),
      post('other-tag', 'other tag'),
      post('author', 'author', bob.userId),
    ];
    const file = await imported(
      deps,
      csv(
        row('same', 'same'),
        row('day', 'day', alice.userId, 'sea;ferry', '2024-03-02T10:00:00Z'),
        row('more-tags', 'more tags', alice.userId, 'sea;ferry;boat'),
        row('other-tag', 'other tag', alice.userId, 'sea;boat'),
        row('author', 'author', alice.userId),
      ),
      {},
      admin,
    );
    expect(countsOf(file.after)).toEqual({ rowsCreated: 0, rowsUpdated: 4, rowsUnchanged: 1, rowsRejected: 0, onBehalfRows: 5 });
    expect([...deps.search.posts].sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      post('author', 'author', alice.userId),
      post('day', 'day', alice.userId, ['sea', 'ferry'], '2024-03-02T10:00:00Z'),
      post('more-tags', 'more tags', alice.userId, ['sea', 'ferry', 'boat']),
      post('other-tag', 'other tag', alice.userId, ['sea', 'boat']),
      post('same', 'same'),
    ]);
  });

  it("an admin's unchanged rows for others count as on their behalf; a member's import records no such count", async () => {
    const deps = makeImportDeps();
    deps.search.posts = [
      post('b-1', 'by bob', bob.userId),
      post('b-2', 'by bob too', bob.userId),
      post('ad-1', 'by the admin', admin.userId),
      post('a-1', 'mine'),
    ];
    const byAdmin = await imported(
      deps,
      csv(row('b-1', 'by bob', bob.userId), row('b-2', 'by bob too', bob.userId), row('ad-1', 'by the admin', admin.userId)),
      {},
      admin,
    );
    expect(countsOf(byAdmin.after)).toEqual({ rowsCreated: 0, rowsUpdated: 0, rowsUnchanged: 3, rowsRejected: 0, onBehalfRows: 2 });
    expect(deps.audit.entries.get(`import:${byAdmin.importId}:SUCCEEDED`)).toMatchObject({ rowCount: 3, onBehalfRows: 2 });

    const byMember = await imported(deps, csv(row('a-1', 'mine')));
    expect(countsOf(byMember.after)).toEqual({
      rowsCreated: 0,
      rowsUpdated: 0,
      rowsUnchanged: 1,
      rowsRejected: 0,
      onBehalfRows: undefined,
    });
    expect(byMember.after).not.toHaveProperty('onBehalfRows');
  });

  it('an id repeated in the same batch names the line of its first row', async () => {
    const deps = makeImportDeps();
    const lines = [post('p-1', 'one'), post('p-2', 'two'), post('p-1', 'one again')].map((one) => JSON.stringify(one));
    const file = await imported(deps, `${lines[0]}\n\n${lines[1]}\n${lines[2]}\n`);
    expect(parse(deps.objects.text('permanent', errorReportKeyOf(file.after)))).toEqual([
      ['line', 'error', 'raw'],
      ['4', repeatedIdReason('p-1', 1), lines[2]],
    ]);
  });
});

describe('the original already moved (a retry after the move, before the record said so)', () => {
  /** S3 gives a copy its own ETag (a multipart upload's always differs): the upload's pin does not hold for it. */
  class CopiesWithTheirOwnEtag extends InMemoryObjectStore {
    readonly copies = new Set<string>();
    override async copy(from: ObjectLocation, to: ObjectLocation, condition: ObjectCondition = {}): Promise<void> {
      await super.copy(from, to, condition);
      this.copies.add(`${to.bucket}/${to.key}`);
    }
    override async head(bucket: string, key: string, condition: ObjectCondition = {}): Promise<ObjectHead | undefined> {
      this.refusePin(bucket, key, condition);
      return super.head(bucket, key, this.copies.has(`${bucket}/${key}`) ? {} : condition);
    }
    override async getStream(bucket: string, key: string, condition: ObjectCondition & { range?: { start: number; end: number } } = {}) {
      this.refusePin(bucket, key, condition);
      return super.getStream(
        bucket,
        key,
        this.copies.has(`${bucket}/${key}`) ? { ...(condition.range ? { range: condition.range } : {}) } : condition,
      );
    }
    private refusePin(bucket: string, key: string, condition: ObjectCondition) {
      if (this.copies.has(`${bucket}/${key}`) && condition.ifMatch !== undefined)
        throw new UploadChanged(`${bucket}/${key} has another ETag`);
    }
  }

  it('processImport reads the permanent copy unpinned and imports every row', async () => {
    const deps = { ...makeImportDeps(), objects: new CopiesWithTheirOwnEtag() };
    const file = await uploaded(deps, csv(row('p-1', 'one'), row('p-2', 'two')));
    const record = await file.record();
    const permanent = { bucket: 'permanent', key: permanentKeyOf(record) };
    await moveObject(deps.objects, file.upload, permanent, { ifMatch: record.uploadedEtag });

    expect(await processImport(deps, { ...file.input, format: 'csv' })).toEqual({
      importId: file.importId,
      status: 'SUCCEEDED',
      rowsImported: 2,
      rowsRejected: 0,
    });
    expect(deps.search.posts.map((one) => one.id).sort()).toEqual(['p-1', 'p-2']);
  });

  it('processImport refuses an upload swapped between its check of the upload and its read: nothing indexed', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csv(row('p-1', 'one')));
    const objects = deps.objects;
    const head = objects.head.bind(objects);
    objects.head = async (bucket, key, condition) => {
      const found = await head(bucket, key, condition);
      if (bucket === file.upload.bucket && key === file.upload.key) objects.put(bucket, key, csv(row('evil', 'swapped in')), 'text/csv');
      return found;
    };

    await expect(processImport(deps, { ...file.input, format: 'csv' })).rejects.toBeInstanceOf(UploadChanged);
    expect(deps.search.posts).toEqual([]);
    expect([...deps.search.staged.keys()]).toEqual([]);
  });
});

describe('moveObject', () => {
  const from = { bucket: 'uploads', key: 'in/a.csv' };
  const to = { bucket: 'permanent', key: 'kept/a.csv' };

  it('copies then deletes the source', async () => {
    const objects = new InMemoryObjectStore();
    objects.put(from.bucket, from.key, 'a,b\n', 'text/csv');
    await moveObject(objects, from, to, { ifMatch: etagOf('a,b\n') });
    expect(objects.keys()).toEqual(['permanent/kept/a.csv']);
    expect(objects.text(to.bucket, to.key)).toBe('a,b\n');
  });

  it('a retry that finds the source gone and its copy there does nothing', async () => {
    const objects = new InMemoryObjectStore();
    objects.put(to.bucket, to.key, 'a,b\n', 'text/csv');
    await moveObject(objects, from, to, { ifMatch: etagOf('a,b\n') });
    expect(objects.keys()).toEqual(['permanent/kept/a.csv']);
    expect(objects.text(to.bucket, to.key)).toBe('a,b\n');
  });

  it('neither the source nor its copy: NotFound, naming both', async () => {
    const objects = new InMemoryObjectStore();
    const moved = moveObject(objects, from, to, {});
    await expect(moved).rejects.toBeInstanceOf(NotFound);
    await expect(moved).rejects.toThrow('Neither s3://uploads/in/a.csv nor its copy s3://permanent/kept/a.csv exists.');
  });
});

describe('the ranges of a ranged scan', () => {
  it('a file a whole number of ranges long ends with its last full range: no empty range after it', () => {
    expect(scanRanges(90, 30, 5)).toEqual([
      { start: 0, end: 35 },
      { start: 30, end: 65 },
      { start: 60, end: 90 },
    ]);
  });
});

describe('identifying the format', () => {
  it('an NDJSON file needs no mapping: its verdict says nothing about one', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, `${JSON.stringify(post('p-1', 'one'))}\n`);
    const verdict = await identifyImportFormat(deps, file.input);
    expect(verdict.format).toBe('ndjson');
    expect(Object.keys(verdict)).not.toContain('needsMapping');
    expect(Object.keys(verdict)).not.toContain('mappingTimeoutSeconds');
  });
});

describe('tasks that find the import already ended', () => {
  async function cancelled(deps: ImportDeps) {
    const file = await uploaded(deps, csv(row('p-1', 'one')));
    await deps.imports.update(
      file.importId,
      { status: 'CANCELLED', reason: CANCELLED_IMPORT_REASON, finishedAt: deps.clock.now().toISOString() },
      deps.clock.now(),
    );
    deps.clock.advance(60_000);
    return { ...file, before: await file.record() };
  }

  it('awaitImportMapping leaves a cancelled import cancelled, without a task token', async () => {
    const deps = makeImportDeps();
    const file = await cancelled(deps);
    await awaitImportMapping(deps, { ...file.input, taskToken: 'token-1' });
    expect(await file.record()).toEqual(file.before);
  });

  it('expireImport leaves a cancelled import as it was: upload kept, nothing audited', async () => {
    const deps = makeImportDeps();
    const file = await cancelled(deps);
    expect(await expireImport(deps, file.input)).toEqual({ importId: file.importId, status: 'CANCELLED' });
    expect(await file.record()).toEqual(file.before);
    expect(deps.objects.has(file.upload.bucket, file.upload.key)).toBe(true);
    expect(deps.audit.entries.has(`import:${file.importId}:EXPIRED`)).toBe(false);
  });

  it('expireImport audits the expiry with the execution and the reason', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csv(row('p-1', 'one')));
    expect(await expireImport(deps, file.input)).toEqual({ importId: file.importId, status: 'EXPIRED' });
    expect(deps.audit.entries.get(`import:${file.importId}:EXPIRED`)).toMatchObject({
      outcome: 'EXPIRED',
      executionArn: EXECUTION,
      error: expiredReason(deps.config.importMappingTimeoutSeconds),
    });
  });

  it('rejectFile run again changes nothing: the first rejection keeps its time', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, csv(row('p-1', 'one')));
    const failure = { Error: 'UploadChanged', Cause: 'changed' };
    expect(await rejectFile(deps, { ...file.input, failure })).toEqual({ importId: file.importId, status: 'REJECTED' });
    const first = await file.record();
    deps.clock.advance(60_000);
    expect(await rejectFile(deps, { ...file.input, failure })).toEqual({ importId: file.importId, status: 'REJECTED' });
    expect(await file.record()).toEqual(first);
  });
});

describe('the summary of a job, and the failure handler over it', () => {
  const jobOf = (importIds: string[], delivery: ImportJob['delivery'] = 'direct'): ImportJob => ({
    importIds,
    requestedBy: { userId: alice.userId, username: alice.username, email: alice.email },
    delivery,
    requestedAt: '2024-06-01T12:00:00.000Z',
    maxConcurrency: 4,
  });

  it('counts a file not ended by now as failed, with the FAILED ones; a deleted import is not counted at all', async () => {
    const deps = makeImportDeps();
    const ids: string[] = [];
    for (const status of ['SUCCEEDED', 'FAILED', 'RUNNING', 'QUARANTINED', 'REJECTED', 'DELETED'] as const) {
      const file = await uploaded(deps, csv(row('p-1', 'one')));
      ids.push(file.importId);
      if (status === 'DELETED') await deps.imports.delete(file.importId);
      else if (status !== 'RUNNING')
        await deps.imports.update(file.importId, { status, rowsImported: 3, rowsRejected: 1 }, deps.clock.now());
    }
    expect(await notifyImportOutcome(deps, { executionArn: EXECUTION, job: jobOf(ids) })).toEqual({
      files: 5,
      succeeded: 1,
      quarantined: 1,
      rejected: 1,
      failed: 2,
      rowsImported: 12,
      rowsRejected: 4,
    });
  });

  it('an email lists links to the error reports of the first 100 files only', async () => {
    const deps = makeImportDeps();
    const ids: string[] = [];
    for (let i = 0; i < 101; i++) {
      const file = await uploaded(deps, csv(row('p-1', 'one')));
      ids.push(file.importId);
      await deps.imports.update(
        file.importId,
        { status: 'SUCCEEDED', rowsImported: 1, rowsRejected: 1, errorReportKey: `reports/${file.importId}.csv` },
        deps.clock.now(),
      );
    }
    await notifyImportOutcome(deps, { executionArn: EXECUTION, job: jobOf(ids, 'email') });
    expect(deps.objects.presigned.map((link) => link.key)).toEqual(ids.slice(0, 100).map((id) => `reports/${id}.csv`));
  });

  it('handleImportFailure for a job one of whose imports was deleted fails the others', async () => {
    const deps = makeImportDeps();
    const gone = await uploaded(deps, csv(row('p-1', 'one')));
    const left = await uploaded(deps, csv(row('p-1', 'one')));
    await deps.imports.delete(gone.importId);
    await handleImportFailure(deps, {
      executionArn: EXECUTION,
      failure: { Error: 'States.Timeout', Cause: 'timed out' },
      job: jobOf([gone.importId, left.importId]),
    });
    expect((await left.record()).status).toBe('FAILED');
    expect(await deps.imports.get(gone.importId)).toBeUndefined();
  });
});
