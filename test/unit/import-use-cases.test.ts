import { describe, expect, it } from 'vitest';
import { Forbidden, InvalidInput, NotFound } from '../../core/errors';
import type { User } from '../../core/model';
import {
  completeImport,
  createImport,
  importStatus,
  listQuarantine,
  MAX_BATCH_FILES,
  onUploadCreated,
  presignImportParts,
} from '../../core/import/use-cases';
import { MAX_IMPORT_BYTES_ONE_TASK } from '../../core/capacity';
import { alice, bob } from './fakes';
import { makeImportDeps, type ImportDeps } from './import-fakes';
import type { ImportJob } from '../../core/import/job';
import type { BatchStatusView, CreatedImports, ImportStatusView } from '../../core/contract';

const admin: User = { userId: 'user-admin', username: 'admin', email: 'admin@example.com', groups: ['admin'] };
const GiB = 1024 ** 3;
const csv = 'userId,dateCreated,content\nu1,2024-01-01T00:00:00Z,hello\n';

const single = (created: CreatedImports) => {
  if (!('importId' in created)) throw new Error('expected a single import');
  return created;
};
const batch = (created: CreatedImports) => {
  if (!('batchId' in created)) throw new Error('expected a batch');
  return created;
};

async function createOne(deps: ImportDeps, user: User = alice, body: Record<string, unknown> = {}) {
  return single(
    await createImport(deps, user, {
      fileName: 'posts.csv',
      size: Buffer.byteLength(csv),
      contentType: 'text/csv',
      type: 'direct',
      ...body,
    }),
  );
}

/** What the browser's upload does: the object appears at the record's key. */
async function upload(deps: ImportDeps, importId: string, body = csv) {
  const record = await deps.imports.get(importId);
  if (!record) throw new Error(`no import ${importId}`);
  deps.objects.put(record.upload.bucket, record.upload.key, body, record.contentType);
  return record.upload;
}

describe('createImport', () => {
  it('records one file AWAITING_UPLOAD and answers with a presigned POST for a key built from ids, not the file name', async () => {
    const deps = makeImportDeps();
    const created = await createOne(deps, alice, { fileName: '../../etc/passwd.csv', sha256: 'A'.repeat(64) });

    const record = await deps.imports.get(created.importId);
    expect(record).toMatchObject({
      status: 'AWAITING_UPLOAD',
      owner: { userId: alice.userId, username: 'alice', email: alice.email },
      fileName: '../../etc/passwd.csv',
      sha256: 'a'.repeat(64),
      checks: { antivirus: 'pending', checksum: 'pending', format: 'pending' },
      upload: { bucket: 'uploads', method: 'post' },
    });
    expect(record?.upload.key).toMatch(new RegExp(`^uploads/${alice.userId}/${created.importId}/[A-Za-z0-9-]+$`));
    expect(record?.upload.key).not.toContain('passwd');
    expect(created.upload).toMatchObject({ method: 'POST', url: 'https://objects.test/uploads', fields: { key: record?.upload.key } });
    const [{ plan } = { plan: undefined }] = deps.objects.postPlans;
    expect(plan?.Conditions).toEqual([
      { bucket: 'uploads' },
      ['eq', '$key', record?.upload.key],
      ['eq', '$Content-Type', 'text/csv'],
      ['content-length-range', Buffer.byteLength(csv), Buffer.byteLength(csv)],
    ]);
    expect([...deps.audit.entries.values()]).toEqual([
      expect.objectContaining({ id: `import:${created.importId}:REQUESTED`, kind: 'import', outcome: 'REQUESTED' }),
    ]);
  });

  it('records a batch under one batch id with one upload form per file', async () => {
    const deps = makeImportDeps();
    const files = [1, 2, 3].map((n) => ({ fileName: `part-${n}.ndjson`, size: 10 * n, contentType: 'application/x-ndjson' }));
    const created = batch(await createImport(deps, alice, { files, type: 'email' }));

    expect(created.imports.map((file) => file.fileName)).toEqual(['part-1.ndjson', 'part-2.ndjson', 'part-3.ndjson']);
    const records = await deps.imports.listBatch(created.batchId);
    expect(records.map((record) => [record.importId, record.size, record.delivery])).toEqual(
      created.imports.map((file, i) => [file.importId, 10 * (i + 1), 'email']),
    );
    expect(new Set(records.map((record) => record.upload.key)).size).toBe(3);
  });

  it('plans a multipart upload with one part link per byte range above 5 GiB', async () => {
    const deps = makeImportDeps();
    const size = 6 * GiB + 5;
    const created = single(
      await createImport({ ...deps, config: { ...deps.config, maxImportBytes: 50 * GiB } }, alice, {
        fileName: 'big.csv',
        size,
        contentType: 'text/csv',
        type: 'direct',
      }),
    );

    if (created.upload.method !== 'multipart') throw new Error('expected multipart');
    const { parts, partSize, uploadId } = created.upload;
    expect(partSize).toBe(64 * 1024 * 1024);
    expect(parts).toHaveLength(Math.ceil(size / partSize));
    expect(parts[0]).toMatchObject({ partNumber: 1, start: 0, end: partSize });
    expect(parts.at(-1)).toMatchObject({ end: size });
    expect((await deps.imports.get(created.importId))?.upload).toMatchObject({ method: 'multipart', uploadId, partBytes: partSize });
    expect(deps.objects.multipartUploads.get(uploadId)?.contentType).toBe('text/csv');
  });

  it.each([
    [{ fileName: 'a.csv', size: 0, contentType: 'text/csv', type: 'direct' }, 'size'],
    [{ fileName: 'a.csv', size: 5 * GiB + 1, contentType: 'text/csv', type: 'direct' }, 'size'],
    [{ fileName: 'a.csv', size: 10, contentType: 'text/csv', type: 'fax' }, 'type'],
    [{ fileName: ' ', size: 10, contentType: 'text/csv', type: 'direct' }, 'fileName'],
    [{ size: 10, contentType: 'text/csv', type: 'direct' }, 'fileName'],
    [
      {
        files: [
          { fileName: 'a.csv', size: 1, contentType: 'text/csv' },
          { fileName: 'b.csv', size: -1, contentType: 'text/csv' },
        ],
        type: 'push',
      },
      'files[1].size',
    ],
  ])('refuses %j naming the field %s, and records nothing', async (body, field) => {
    const deps = makeImportDeps();
    const error = await createImport(deps, alice, body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).field).toBe(field);
    expect(deps.imports.records.size).toBe(0);
  });
});

describe('createImport limits', () => {
  it('refuses a file larger than one task checks and imports in its timeout, naming the limit and why', async () => {
    const deps = makeImportDeps();
    const limited = { ...deps, config: { ...deps.config, maxImportBytes: MAX_IMPORT_BYTES_ONE_TASK } };
    const error = await createImport(limited, alice, {
      fileName: 'huge.csv',
      size: MAX_IMPORT_BYTES_ONE_TASK + 1,
      contentType: 'text/csv',
      delivery: 'direct',
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).field).toBe('size');
    expect((error as InvalidInput).message).toBe(
      "size: must be at most 1 GiB (1073741824 bytes): larger files cannot be checked and imported within one task's 15-minute limit; split the file",
    );
    expect(deps.imports.records.size).toBe(0);
  });

  it('refuses a batch whose upload forms would not fit in one answer', async () => {
    const deps = makeImportDeps();
    const files = Array.from({ length: MAX_BATCH_FILES + 1 }, (_, i) => ({ fileName: `f${i}.csv`, size: 1, contentType: 'text/csv' }));
    await expect(createImport(deps, alice, { files, type: 'direct' })).rejects.toMatchObject({ field: 'files' });
  });
});

describe('presignImportParts', () => {
  it('gives fresh links for the parts asked for, to resume a multipart upload', async () => {
    const deps = makeImportDeps();
    const big = { ...deps, config: { ...deps.config, maxImportBytes: 50 * GiB } };
    const created = single(await createImport(big, alice, { fileName: 'big.csv', size: 6 * GiB, contentType: 'text/csv', type: 'direct' }));

    const { parts, uploadId } = await presignImportParts(deps, alice, created.importId, { partNumbers: [3, 96] });
    expect(parts.map((part) => part.partNumber)).toEqual([3, 96]);
    expect(parts[0]?.url).toContain(`uploadId=${uploadId}&partNumber=3`);
    expect(parts[1]?.end).toBe(6 * GiB);
  });

  it('refuses a part number past the end, a POST upload, and another user', async () => {
    const deps = makeImportDeps();
    const big = { ...deps, config: { ...deps.config, maxImportBytes: 50 * GiB } };
    const multipart = single(
      await createImport(big, alice, { fileName: 'big.csv', size: 6 * GiB, contentType: 'text/csv', type: 'direct' }),
    );
    const post = await createOne(deps);

    await expect(presignImportParts(deps, alice, multipart.importId, { partNumbers: [97] })).rejects.toMatchObject({ field: 'partNumber' });
    await expect(presignImportParts(deps, alice, post.importId, {})).rejects.toBeInstanceOf(InvalidInput);
    await expect(presignImportParts(deps, bob, multipart.importId, {})).rejects.toBeInstanceOf(NotFound);
  });
});

describe('starting an import', () => {
  it('completing before the file arrived says so and starts nothing', async () => {
    const deps = makeImportDeps();
    const { importId } = await createOne(deps);
    await expect(completeImport(deps, alice, importId, {})).rejects.toBeInstanceOf(InvalidInput);
    expect(deps.executions.started).toEqual([]);
  });

  it('the upload event and /complete (each twice) start exactly one execution, named after the import', async () => {
    const deps = makeImportDeps();
    const { importId } = await createOne(deps);
    const uploaded = await upload(deps, importId);

    expect(await onUploadCreated(deps, uploaded)).toBe('started');
    expect(await onUploadCreated(deps, uploaded)).toBe('started');
    expect(await completeImport(deps, alice, importId, {})).toEqual({ importId, status: 'RUNNING' });
    expect(await completeImport(deps, alice, importId, {})).toEqual({ importId, status: 'RUNNING' });

    expect(deps.executions.started).toHaveLength(1);
    const [started] = deps.executions.started;
    expect(started?.name).toBe(importId);
    expect(started?.input).toEqual({
      importIds: [importId],
      requestedBy: { userId: alice.userId, username: 'alice', email: alice.email },
      delivery: 'direct',
      requestedAt: '2024-06-01T12:00:00.000Z',
      maxConcurrency: deps.config.importMapConcurrency,
    } satisfies ImportJob);
  });

  it('completes a multipart upload with its part ETags, then starts the import', async () => {
    const deps = makeImportDeps();
    const big = { ...deps, config: { ...deps.config, maxImportBytes: 50 * GiB } };
    const created = single(await createImport(big, alice, { fileName: 'big.csv', size: 6 * GiB, contentType: 'text/csv', type: 'direct' }));
    if (created.upload.method !== 'multipart') throw new Error('expected multipart');
    const { uploadId } = created.upload;
    const parts = [1, 2].map((partNumber) => ({
      partNumber,
      etag: deps.objects.uploadPart(uploadId, partNumber, Buffer.from(`part ${partNumber}\n`)),
    }));

    expect(await completeImport(deps, alice, created.importId, { parts })).toEqual({ importId: created.importId, status: 'RUNNING' });
    const record = await deps.imports.get(created.importId);
    expect(deps.objects.text(record?.upload.bucket ?? '', record?.upload.key ?? '')).toBe('part 1\npart 2\n');
    expect(deps.executions.started).toHaveLength(1);
  });

  it('a batch starts one execution, named after the batch, only once its last file arrived', async () => {
    const deps = makeImportDeps();
    const files = [1, 2, 3].map((n) => ({ fileName: `f${n}.csv`, size: Buffer.byteLength(csv), contentType: 'text/csv' }));
    const created = batch(await createImport(deps, alice, { files, type: 'push' }));

    const outcomes = [];
    for (const file of created.imports) outcomes.push(await onUploadCreated(deps, await upload(deps, file.importId)));
    expect(outcomes).toEqual(['waiting-for-batch', 'waiting-for-batch', 'started']);
    expect(await completeImport(deps, alice, created.imports[0]?.importId ?? '', {})).toMatchObject({ status: 'RUNNING' });

    expect(deps.executions.started.map((execution) => execution.name)).toEqual([created.batchId]);
    expect(deps.executions.started[0]?.input).toMatchObject({
      batchId: created.batchId,
      importIds: created.imports.map((file) => file.importId),
      maxConcurrency: 4,
    });
  });

  it('pins the object that arrived (ETag and size from the event, or from /complete), once: a later arrival does not re-pin', async () => {
    const deps = makeImportDeps();
    const first = await createOne(deps);
    const uploaded = await upload(deps, first.importId);
    expect(await onUploadCreated(deps, { ...uploaded, etag: '"etag-of-first"', size: 57 })).toBe('started');
    expect(await onUploadCreated(deps, { ...uploaded, etag: 'etag-of-swapped', size: 68 })).toBe('started');
    expect(await deps.imports.get(first.importId)).toMatchObject({ uploadedEtag: 'etag-of-first', uploadedBytes: 57 });

    const second = await createOne(deps);
    const object = await upload(deps, second.importId);
    await completeImport(deps, alice, second.importId, {});
    const head = await deps.objects.head(object.bucket, object.key);
    expect(await deps.imports.get(second.importId)).toMatchObject({ uploadedEtag: head?.etag, uploadedBytes: Buffer.byteLength(csv) });
  });

  it('deletes an upload to an import that has ended (its form used again) and starts nothing; a FAILED import keeps it', async () => {
    const deps = makeImportDeps();
    const ended = await createOne(deps);
    const object = await upload(deps, ended.importId);
    await onUploadCreated(deps, object);
    await deps.imports.update(ended.importId, { status: 'SUCCEEDED' }, deps.clock.now());
    await upload(deps, ended.importId, 'late bytes');
    expect(await onUploadCreated(deps, object)).toBe('deleted-late-upload');
    expect(deps.objects.has(object.bucket, object.key)).toBe(false);

    const failed = await createOne(deps);
    const kept = await upload(deps, failed.importId);
    await onUploadCreated(deps, kept);
    await deps.imports.update(failed.importId, { status: 'FAILED' }, deps.clock.now());
    expect(await onUploadCreated(deps, kept)).toBe('started');
    expect(deps.objects.has(kept.bucket, kept.key)).toBe(true);
    expect(deps.executions.started).toHaveLength(2);
  });

  it('ignores objects that are not an import upload it expects', async () => {
    const deps = makeImportDeps();
    const { importId } = await createOne(deps);
    const { key } = await upload(deps, importId);

    expect(await onUploadCreated(deps, { bucket: 'another-bucket', key })).toBe('ignored');
    expect(await onUploadCreated(deps, { bucket: 'uploads', key: 'exports/whatever.csv' })).toBe('ignored');
    expect(await onUploadCreated(deps, { bucket: 'uploads', key: key.replace(alice.userId, bob.userId) })).toBe('ignored');
    expect(await onUploadCreated(deps, { bucket: 'uploads', key: `${key}x` })).toBe('ignored');
    expect(deps.executions.started).toEqual([]);
  });
});

describe('importStatus', () => {
  it("another user's import is not found, and neither is an unknown id", async () => {
    const deps = makeImportDeps();
    const { importId } = await createOne(deps);
    await expect(importStatus(deps, bob, importId)).rejects.toBeInstanceOf(NotFound);
    await expect(importStatus(deps, alice, 'no-such-import')).rejects.toBeInstanceOf(NotFound);
  });

  it('shows the checks, the counts and a link to the error report once rows were rejected', async () => {
    const deps = makeImportDeps();
    const { importId } = await createOne(deps);
    await deps.imports.update(
      importId,
      {
        status: 'SUCCEEDED',
        checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
        rowsImported: 9,
        rowsRejected: 1,
        errorReportKey: 'imports/x/error-report.csv',
      },
      deps.clock.now(),
    );

    const status = (await importStatus(deps, alice, importId)) as ImportStatusView;
    expect(status).toMatchObject({
      importId,
      status: 'SUCCEEDED',
      checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
      rowsImported: 9,
      rowsRejected: 1,
    });
    expect(status.errorReportUrl).toMatch(/^https:\/\/objects\.test\/permanent\/imports\/x\/error-report\.csv\?/);
    expect(status.errorReportUrl).toContain('name=posts-rejected-rows.csv');
  });

  it('shows rows created, updated and unchanged; a file that failed says nothing was imported', async () => {
    const deps = makeImportDeps();
    const { importId } = await createOne(deps);
    await deps.imports.update(
      importId,
      { status: 'SUCCEEDED', rowsImported: 6, rowsCreated: 3, rowsUpdated: 2, rowsUnchanged: 1, rowsRejected: 0 },
      deps.clock.now(),
    );
    expect(await importStatus(deps, alice, importId)).toMatchObject({ rowsImported: 6, rowsCreated: 3, rowsUpdated: 2, rowsUnchanged: 1 });

    const failed = (await createOne(deps)).importId;
    await deps.imports.update(failed, { status: 'FAILED', reason: 'The import could not finish.' }, deps.clock.now());
    expect(await importStatus(deps, alice, failed)).toMatchObject({
      status: 'FAILED',
      rowsImported: 0,
      rowsCreated: 0,
      rowsUpdated: 0,
      rowsUnchanged: 0,
    });
  });

  it('a batch says when all checks are complete and how each file ended', async () => {
    const deps = makeImportDeps();
    const files = [1, 2].map((n) => ({ fileName: `f${n}.csv`, size: 5, contentType: 'text/csv' }));
    const created = batch(await createImport(deps, alice, { files, type: 'direct' }));
    const [first, second] = created.imports.map((file) => file.importId);
    const at = deps.clock.now();

    expect(await importStatus(deps, alice, created.batchId)).toMatchObject({ status: 'AWAITING_UPLOAD', checksComplete: false });
    await deps.imports.update(first ?? '', { status: 'QUARANTINED', checks: { antivirus: 'infected' } }, at);
    await deps.imports.update(second ?? '', { status: 'RUNNING', checks: { antivirus: 'clean', checksum: 'verified' } }, at);
    expect(await importStatus(deps, alice, created.batchId)).toMatchObject({ status: 'RUNNING', checksComplete: false });

    await deps.imports.update(second ?? '', { checks: { format: 'csv' } }, at);
    expect(await importStatus(deps, alice, created.batchId)).toMatchObject({ status: 'RUNNING', checksComplete: true });

    await deps.imports.update(second ?? '', { status: 'SUCCEEDED', rowsImported: 3, rowsRejected: 0 }, at);
    const status = (await importStatus(deps, alice, created.batchId)) as BatchStatusView;
    expect(status).toMatchObject({
      batchId: created.batchId,
      status: 'COMPLETED',
      checksComplete: true,
      counts: { QUARANTINED: 1, SUCCEEDED: 1, RUNNING: 0 },
    });
    expect(status.files.map((file) => [file.fileName, file.status])).toEqual([
      ['f1.csv', 'QUARANTINED'],
      ['f2.csv', 'SUCCEEDED'],
    ]);
    await expect(importStatus(deps, bob, created.batchId)).rejects.toBeInstanceOf(NotFound);
  });
});

describe('listQuarantine', () => {
  it('is for admins only', async () => {
    await expect(listQuarantine(makeImportDeps(), alice, {})).rejects.toBeInstanceOf(Forbidden);
  });

  it('lists what was quarantined, by whom, with the signature, newest first', async () => {
    const deps = makeImportDeps();
    const first = await createOne(deps, alice, { fileName: 'eicar.csv' });
    const second = await createOne(deps, bob, { fileName: 'worse.csv' });
    await deps.imports.update(
      first.importId,
      {
        status: 'QUARANTINED',
        quarantine: { bucket: 'quarantine', key: 'q/1', signature: 'Eicar-Test-Signature', quarantinedAt: '2024-06-01T12:00:00.000Z' },
      },
      deps.clock.now(),
    );
    await deps.imports.update(
      second.importId,
      {
        status: 'QUARANTINED',
        quarantine: { bucket: 'quarantine', key: 'q/2', signature: 'Win.Test.Other', quarantinedAt: '2024-06-01T13:00:00.000Z' },
      },
      deps.clock.now(),
    );

    const page = await listQuarantine(deps, admin, { limit: '1' });
    expect(page.items).toEqual([
      expect.objectContaining({ importId: second.importId, fileName: 'worse.csv', username: 'bob', signature: 'Win.Test.Other' }),
    ]);
    const next = await listQuarantine(deps, admin, { limit: '1', cursor: page.nextCursor });
    expect(next.items).toEqual([
      expect.objectContaining({ importId: first.importId, username: 'alice', userId: alice.userId, signature: 'Eicar-Test-Signature' }),
    ]);
    expect(next.nextCursor).toBeUndefined();
  });
});
