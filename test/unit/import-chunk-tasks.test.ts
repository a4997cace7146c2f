import { describe, expect, it } from 'vitest';
import { Conflict, UploadChanged } from '../../core/errors';
import { cancelOrDeleteImport, COMMITTING_IMPORT_REASON } from '../../core/import/jobs';
import { commitImportChunks, importChunk, planImportChunks, planImportChunksToEnd } from '../../core/import/chunk-tasks';
import { chunkOutcomeKeyOf, errorReportKeyOf, permanentKeyOf } from '../../core/import/keys';
import { CANCELLED_IMPORT_REASON, type ImportRecord } from '../../core/import/records';
import { identifyImportFormat, moveObject, processImport, rejectFile } from '../../core/import/tasks';
import { createImport } from '../../core/import/use-cases';
import type { User } from '../../core/model';
import type { ObjectCondition, ObjectHead, ObjectLocation } from '../../core/ports';
import { alice, bob, etagOf, InMemoryObjectStore } from './fakes';
import { makeImportDeps, type ImportDeps } from './import-fakes';

/**
 * The chunked import's tasks (core/import/chunk-tasks.ts), for what test/unit/import-chunks.test.ts leaves open: tasks
 * that find the import ended or the commit claimed, a file a chunk finds unreadable, dry runs, imports on behalf of
 * others, NDJSON with a byte order mark, a retry reading the permanent copy, an upload swapped while it is planned, and
 * the objects the chunks leave for the last step.
 */

const EXECUTION = 'arn:aws:states:us-east-1:1:execution:ferry-import:x';
const AT = '2024-05-01T10:00:00Z';
const HEADER = 'id,userId,dateCreated,content,tags';
const admin: User = { ...alice, userId: 'user-admin', username: 'admin', groups: ['admin'] };

/** `count` rows p1…; `special` replaces some of them. */
const rowsOf = (count: number, special: (n: number) => string | undefined = () => undefined) =>
  Array.from({ length: count }, (_, i) => special(i + 1) ?? `p${i + 1},${alice.userId},${AT},post ${i + 1},sea;ferry`);
const csvOf = (rows: string[]) => `${HEADER}\n${rows.join('\n')}\n`;

/** An import of `body` uploaded by `user`, its format identified; chunks of at most `chunkBytes` (one batch by default). */
async function uploaded(
  body: string | Buffer,
  options: { user?: User; extra?: Record<string, unknown>; chunkBytes?: number; objects?: InMemoryObjectStore } = {},
) {
  const base = makeImportDeps();
  const deps: ImportDeps = {
    ...base,
    ...(options.objects ? { objects: options.objects } : {}),
    config: { ...base.config, importChunkBytes: options.chunkBytes ?? 1, importChunkConcurrency: 3 },
  };
  const created = await createImport(deps, options.user ?? alice, {
    fileName: 'posts.csv',
    size: Buffer.byteLength(body),
    contentType: 'text/csv',
    type: 'email',
    ...options.extra,
  });
  if (!('importId' in created)) throw new Error('expected one import');
  const record = (await deps.imports.get(created.importId)) as ImportRecord;
  deps.objects.put(record.upload.bucket, record.upload.key, body, 'text/csv');
  await deps.imports.markUploaded(created.importId, deps.clock.now(), { etag: etagOf(body), bytes: Buffer.byteLength(body) });
  const checked = { importId: created.importId, executionArn: EXECUTION };
  const verdict = await identifyImportFormat(deps, checked);
  const input = { ...checked, format: verdict.format === 'ndjson' ? ('ndjson' as const) : ('csv' as const) };
  return {
    deps,
    importId: created.importId,
    upload: record.upload,
    input,
    record: async () => (await deps.imports.get(created.importId)) as ImportRecord,
  };
}

type Uploaded = Awaited<ReturnType<typeof uploaded>>;

/** Every chunk planned and imported, as "Import each chunk" runs them. */
async function chunksImported({ deps, input }: Uploaded) {
  const plan = await planImportChunksToEnd(deps, input);
  for (const chunk of plan.chunks) await importChunk(deps, { ...input, chunk, headerBytes: plan.headerBytes });
  return plan;
}

/** What an import ended with: its outcome, counts, error report, the posts and what is left staged or in chunks. */
async function endOf(file: Uploaded, outcome: unknown) {
  const after = await file.record();
  const { deps } = file;
  return {
    outcome,
    counts: {
      status: after.status,
      reason: after.reason,
      rowsImported: after.rowsImported,
      rowsCreated: after.rowsCreated,
      rowsUpdated: after.rowsUpdated,
      rowsUnchanged: after.rowsUnchanged,
      rowsRejected: after.rowsRejected,
      onBehalfRows: after.onBehalfRows,
    },
    report: deps.objects.has('permanent', errorReportKeyOf(after)) ? deps.objects.text('permanent', errorReportKeyOf(after)) : undefined,
    posts: [...deps.search.posts].sort((a, b) => a.id.localeCompare(b.id)),
    staged: [...deps.search.staged.keys()],
    chunkObjects: deps.objects.keys().filter((key) => key.includes('/chunks/')),
  };
}

/** The same file imported in one piece (processImport) and in chunks: how each ended. */
async function bothWays(body: string | Buffer, options: Parameters<typeof uploaded>[1] = {}) {
  const whole = await uploaded(body, options);
  const onePiece = await endOf(whole, await processImport(whole.deps, whole.input));
  const chunked = await uploaded(body, options);
  const plan = await chunksImported(chunked);
  const inChunks = await endOf(chunked, await commitImportChunks(chunked.deps, { ...chunked.input, chunkCount: plan.count }));
  return { onePiece, inChunks, plan };
}

describe('a chunked import ends as the file imported in one piece', () => {
  it('chunks that find the file unreadable (its header cannot be imported): REJECTED with the reason, nothing staged, the chunks removed', async () => {
    // Were the mapping wait skipped: a column that maps onto no post field.
    const rows = rowsOf(2500, (n) => (n % 500 === 0 ? `p${n},${alice.userId},never,bad ${n},` : undefined)).map((line) => `${line},x`);
    const { onePiece, inChunks, plan } = await bothWays(`${HEADER},note\n${rows.join('\n')}\n`);

    expect(plan.chunks.map((chunk) => chunk.rowsBefore)).toEqual([0, 1000, 2000]);
    expect(onePiece.counts).toMatchObject({
      status: 'REJECTED',
      rowsImported: 0,
      reason: expect.stringContaining('unknown column "note"'),
    });
    expect(inChunks).toEqual(onePiece);
    expect(inChunks.staged).toEqual([]);
    expect(inChunks.chunkObjects).toEqual([]);
  });

  it('an admin importing on behalf of others: the rows for others added up over the chunks', async () => {
    const rows = rowsOf(2500, (n) => (n % 3 === 0 ? `p${n},${bob.userId},${AT},for bob ${n},sea` : undefined));
    const { onePiece, inChunks, plan } = await bothWays(csvOf(rows), { user: admin });

    expect(plan.count).toBe(3);
    expect(onePiece.counts).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2500, onBehalfRows: 2500 });
    expect(inChunks).toEqual(onePiece);
  });

  it('a dry run stages nothing and commits nothing, with the counts and report of the one-piece dry run', async () => {
    const rows = rowsOf(2500, (n) => (n % 700 === 0 ? `p${n},${alice.userId},never,bad ${n},` : undefined));
    const { onePiece, inChunks, plan } = await bothWays(csvOf(rows), { extra: { dryRun: true } });

    expect(plan.count).toBe(3);
    expect(onePiece.counts).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2497, rowsRejected: 3 });
    expect(inChunks).toEqual(onePiece);
    expect(inChunks.posts).toEqual([]);
    expect(inChunks.staged).toEqual([]);
  });

  it('NDJSON with a UTF-8 byte order mark: the first chunk reads past the mark as the one-piece read does', async () => {
    const lines = Array.from({ length: 2500 }, (_, i) =>
      JSON.stringify({ id: `p${i + 1}`, userId: alice.userId, dateCreated: i === 1 ? 'never' : AT, content: `post ${i + 1}`, tags: [] }),
    );
    const { onePiece, inChunks, plan } = await bothWays(`\uFEFF${lines.join('\n')}\n`);

    expect(plan.count).toBe(3);
    expect(onePiece.counts).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2499, rowsRejected: 1 });
    expect(inChunks).toEqual(onePiece);
  });

  it('an id repeated in a later batch of the same chunk is refused by the staging; the chunk does not send the file back to be read in one piece', async () => {
    const rows = rowsOf(2500, (n) => (n === 1500 ? `p10,${alice.userId},${AT},repeats row 10,sea` : undefined));
    const body = csvOf(rows);
    const chunked = await uploaded(body, { chunkBytes: Math.ceil(Buffer.byteLength(body) * 0.6) });
    const plan = await chunksImported(chunked);

    expect(plan.chunks.map((chunk) => chunk.rowsBefore)).toEqual([0, 2000]);
    const record = await chunked.record();
    expect(JSON.parse(chunked.deps.objects.text('permanent', chunkOutcomeKeyOf(record, 0)))).toEqual({
      counts: { rowsCreated: 1999, rowsUpdated: 0, rowsUnchanged: 0, rowsRejected: 1, onBehalfRows: 0 },
    });
  });
});

describe('what the chunks leave for the last step, and what it stores', () => {
  it("each chunk's outcome is a JSON object; the assembled error report is CSV, stored with the import's id", async () => {
    const rows = rowsOf(2500, (n) => (n % 1000 === 1 ? `p${n},${alice.userId},never,bad ${n},` : undefined));
    const file = await uploaded(csvOf(rows));
    const plan = await chunksImported(file);
    const record = await file.record();
    const { objects } = file.deps;
    for (const chunk of plan.chunks)
      expect(objects.objects.get(`permanent/${chunkOutcomeKeyOf(record, chunk.index)}`)?.options).toEqual({
        contentType: 'application/json',
      });

    await commitImportChunks(file.deps, { ...file.input, chunkCount: plan.count });
    expect(objects.objects.get(`permanent/${errorReportKeyOf(record)}`)?.options).toEqual({
      contentType: 'text/csv; charset=utf-8',
      metadata: { 'import-id': file.importId },
    });
  });
});

describe('chunk tasks that find the import ended, or its commit claimed', () => {
  it('planning an import already ended (its upload deleted) is one chunk, without reading anything', async () => {
    const file = await uploaded(csvOf(rowsOf(2500)));
    await rejectFile(file.deps, { ...file.input, failure: { Error: 'UploadChanged', Cause: 'changed' } });
    expect(await planImportChunks(file.deps, file.input)).toEqual({ count: 1, chunks: [], headerBytes: 0, concurrency: 3 });
  });

  it('a file larger than IMPORT_CHUNK_BYTES with fewer rows than one batch is one chunk, handed to the one-piece task', async () => {
    const file = await uploaded(csvOf(rowsOf(50)));
    expect(await planImportChunks(file.deps, file.input)).toEqual({ count: 1, chunks: [], headerBytes: 0, concurrency: 3 });
  });

  it('a chunk retried after the import succeeded stages nothing and leaves no chunk objects', async () => {
    const file = await uploaded(csvOf(rowsOf(2500)));
    const plan = await chunksImported(file);
    await commitImportChunks(file.deps, { ...file.input, chunkCount: plan.count });
    const ended = await endOf(file, undefined);

    expect(await importChunk(file.deps, { ...file.input, chunk: plan.chunks[1]!, headerBytes: plan.headerBytes })).toEqual({ chunk: 1 });
    expect(await endOf(file, undefined)).toEqual(ended);
    expect(ended.staged).toEqual([]);
  });

  it('a chunk retried once the commit claimed the import (and committed its staging) stages nothing again', async () => {
    const file = await uploaded(csvOf(rowsOf(2500)));
    const plan = await chunksImported(file);
    const staged = { rowsCreated: 2500, rowsUpdated: 0, rowsUnchanged: 0, rowsRejected: 0, onBehalfRows: 0 };
    await file.deps.imports.update(file.importId, { status: 'COMMITTING', staged }, file.deps.clock.now());
    await file.deps.search.commitStaged(file.importId);
    const left = await endOf(file, undefined);
    const outcomeOf = async () => file.deps.objects.text('permanent', chunkOutcomeKeyOf(await file.record(), 1));
    const outcome = await outcomeOf();

    await importChunk(file.deps, { ...file.input, chunk: plan.chunks[1]!, headerBytes: plan.headerBytes });
    expect(await endOf(file, undefined)).toEqual(left);
    // What the commit reads if it has to go on from its claim: the chunk's counts of before its commit, not of after.
    expect(await outcomeOf()).toBe(outcome);
    expect(JSON.parse(outcome)).toEqual({
      counts: { rowsCreated: 1000, rowsUpdated: 0, rowsUnchanged: 0, rowsRejected: 0, onBehalfRows: 0 },
    });
  });

  it('the commit of an import cancelled while its chunks ran: CANCELLED, nothing searchable or staged, no error report', async () => {
    const file = await uploaded(csvOf(rowsOf(2500, (n) => (n === 5 ? `p5,${alice.userId},never,bad,` : undefined))));
    const plan = await chunksImported(file);
    await file.deps.imports.update(
      file.importId,
      { status: 'CANCELLED', reason: CANCELLED_IMPORT_REASON, finishedAt: file.deps.clock.now().toISOString() },
      file.deps.clock.now(),
    );

    expect(await commitImportChunks(file.deps, { ...file.input, chunkCount: plan.count })).toEqual({
      importId: file.importId,
      status: 'CANCELLED',
      rowsImported: 0,
      rowsRejected: 0,
    });
    const ended = await endOf(file, undefined);
    expect({ status: ended.counts.status, report: ended.report, posts: ended.posts, staged: ended.staged }).toEqual({
      status: 'CANCELLED',
      report: undefined,
      posts: [],
      staged: [],
    });
  });

  it('a commit cut short after it removed the chunk objects finishes with the counts it claimed', async () => {
    const file = await uploaded(csvOf(rowsOf(2500)));
    const plan = await chunksImported(file);
    const record = await file.record();
    const claimed = { rowsCreated: 2500, rowsUpdated: 0, rowsUnchanged: 0, rowsRejected: 0, onBehalfRows: 0 };
    await file.deps.imports.update(file.importId, { status: 'COMMITTING', staged: claimed }, file.deps.clock.now());
    for (const key of file.deps.objects.keys().filter((one) => one.includes('/chunks/')))
      file.deps.objects.delete('permanent', key.slice('permanent/'.length));
    file.deps.objects.put('permanent', errorReportKeyOf(record), `${HEADER},line,error\n`, 'text/csv; charset=utf-8');

    expect(await commitImportChunks(file.deps, { ...file.input, chunkCount: plan.count })).toEqual({
      importId: file.importId,
      status: 'SUCCEEDED',
      rowsImported: 2500,
      rowsRejected: 0,
    });
    const ended = await endOf(file, undefined);
    expect(ended.counts).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2500, rowsCreated: 2500 });
    expect(ended.posts).toHaveLength(2500);
    expect(ended.staged).toEqual([]);
  });
});

describe('a cancel racing the commit of the chunks', () => {
  it('a cancel landing before the commit claims the import wins: nothing commits, nothing stays staged', async () => {
    const file = await uploaded(csvOf(rowsOf(2500)));
    const plan = await chunksImported(file);
    const { deps } = file;
    const updateIf = deps.imports.updateIf.bind(deps.imports);
    let cancelled: unknown;
    deps.imports.updateIf = async (importId, change, at, from) => {
      if (change.status === 'COMMITTING') cancelled = await cancelOrDeleteImport(deps, alice, importId);
      return updateIf(importId, change, at, from);
    };

    expect(await commitImportChunks(deps, { ...file.input, chunkCount: plan.count })).toEqual({
      importId: file.importId,
      status: 'CANCELLED',
      rowsImported: 0,
      rowsRejected: 0,
    });
    expect(cancelled).toEqual({ cancelled: true });
    expect(deps.search.posts).toEqual([]);
    expect([...deps.search.staged.keys()]).toEqual([]);
  });

  it('a cancel landing once the commit claimed the import is refused; the import succeeds with every row', async () => {
    const file = await uploaded(csvOf(rowsOf(2500)));
    const plan = await chunksImported(file);
    const { deps } = file;
    const commit = deps.search.commitStaged.bind(deps.search);
    let refusal: unknown;
    deps.search.commitStaged = async (importId) => {
      refusal = await cancelOrDeleteImport(deps, alice, importId).catch((error: unknown) => error);
      return commit(importId);
    };

    expect(await commitImportChunks(deps, { ...file.input, chunkCount: plan.count })).toEqual({
      importId: file.importId,
      status: 'SUCCEEDED',
      rowsImported: 2500,
      rowsRejected: 0,
    });
    expect(refusal).toBeInstanceOf(Conflict);
    expect((refusal as Conflict).message).toBe(COMMITTING_IMPORT_REASON);
    expect(deps.search.posts).toHaveLength(2500);
  });
});

describe('the pinned upload and the permanent copy', () => {
  /** An object store whose upload is replaced by `swapped` right after the `after`-th check (head) of it. */
  function swappingStore(upload: () => ObjectLocation, swapped: string, after: number) {
    const objects = new InMemoryObjectStore();
    let heads = 0;
    const head = objects.head.bind(objects);
    objects.head = async (bucket: string, key: string, condition?: ObjectCondition) => {
      const found = await head(bucket, key, condition);
      const { bucket: b, key: k } = upload();
      if (bucket === b && key === k && ++heads === after) objects.put(b, k, swapped, 'text/csv');
      return found;
    };
    return objects;
  }

  it('an upload swapped after planning found it, before it measured it: UploadChanged', async () => {
    let where: ObjectLocation = { bucket: '', key: '' };
    const body = csvOf(rowsOf(2500));
    const objects = swappingStore(() => where, csvOf(rowsOf(1)), 1);
    const file = await uploaded(body, { objects, chunkBytes: 1000 });
    where = file.upload;
    await expect(planImportChunks(file.deps, file.input)).rejects.toBeInstanceOf(UploadChanged);
  });

  it('an upload swapped after planning measured it, before it read it: UploadChanged', async () => {
    let where: ObjectLocation = { bucket: '', key: '' };
    const body = csvOf(rowsOf(2500));
    const objects = swappingStore(() => where, csvOf(rowsOf(2500, (n) => `evil${n},${alice.userId},${AT},swapped in,x`)), 2);
    const file = await uploaded(body, { objects });
    where = file.upload;
    await expect(planImportChunks(file.deps, file.input)).rejects.toBeInstanceOf(UploadChanged);
  });

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

  it('the original already moved to the permanent bucket (a redrive after the move): planned, read and committed from there, unpinned', async () => {
    const body = csvOf(rowsOf(2500, (n) => (n === 7 ? `p7,${alice.userId},never,bad,` : undefined)));
    const whole = await uploaded(body);
    const onePiece = await endOf(whole, await processImport(whole.deps, whole.input));

    const file = await uploaded(body, { objects: new CopiesWithTheirOwnEtag() });
    const record = await file.record();
    await moveObject(
      file.deps.objects,
      file.upload,
      { bucket: 'permanent', key: permanentKeyOf(record) },
      { ifMatch: record.uploadedEtag },
    );
    const plan = await chunksImported(file);
    expect(plan.count).toBe(3);
    expect(await endOf(file, await commitImportChunks(file.deps, { ...file.input, chunkCount: plan.count }))).toEqual(onePiece);
  });
});
