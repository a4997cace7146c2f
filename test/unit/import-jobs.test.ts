import { describe, expect, it } from 'vitest';
import { Conflict, ExecutionAlreadyStarted, Transient } from '../../core/errors';
import { cancelOrDeleteImport, listImports } from '../../core/import/jobs';
import { CANCELLED_IMPORT_REASON, currentImportRecord, type ImportChange, type ImportStatus } from '../../core/import/records';
import { startImportExecution } from '../../core/import/start';
import { handleImportFailure, scanForViruses } from '../../core/import/tasks';
import { createImport, importStatus, onUploadCreated } from '../../core/import/use-cases';
import { alice, FakeExecutions } from './fakes';
import { importConfig, InMemoryImportRecords, makeImportDeps, type ImportDeps } from './import-fakes';

const EXECUTION = 'arn:aws:states:us-east-1:1:execution:ferry-import:x';

async function awaitingUpload(deps: ImportDeps): Promise<string> {
  const created = await createImport(deps, alice, { fileName: 'posts.csv', size: 40, contentType: 'text/csv', type: 'direct' });
  if (!('importId' in created)) throw new Error('expected one import');
  return created.importId;
}

describe('a cancelled import', () => {
  it('is CANCELLED with the reason in words and no rows, in its status and in the list', async () => {
    const deps = makeImportDeps();
    const importId = await awaitingUpload(deps);

    expect(await cancelOrDeleteImport(deps, alice, importId)).toEqual({ cancelled: true });

    expect(await importStatus(deps, alice, importId)).toMatchObject({
      status: 'CANCELLED',
      reason: CANCELLED_IMPORT_REASON,
      rowsImported: 0,
    });
    const { items } = await listImports(deps, alice, { limit: 10 });
    expect(items).toEqual([expect.objectContaining({ importId, kind: 'import', status: 'CANCELLED' })]);
    expect(deps.audit.entries.has(`import:${importId}:CANCELLED`)).toBe(true);
  });

  it('stays CANCELLED when the failure handler of its stopped execution runs afterwards', async () => {
    const deps = makeImportDeps();
    const importId = await awaitingUpload(deps);
    await cancelOrDeleteImport(deps, alice, importId);

    await handleImportFailure(deps, { executionArn: EXECUTION, importId, failure: { Error: 'States.Timeout' } });

    expect((await deps.imports.get(importId))?.status).toBe('CANCELLED');
  });

  it('stored the old way (FAILED with the cancel reason) reads as CANCELLED; other failures stay FAILED', async () => {
    const deps = makeImportDeps();
    const importId = await awaitingUpload(deps);
    const record = await deps.imports.update(importId, { status: 'FAILED', reason: CANCELLED_IMPORT_REASON }, deps.clock.now());

    expect(currentImportRecord(record).status).toBe('CANCELLED');
    expect(currentImportRecord({ ...record, reason: 'The file could not be read.' }).status).toBe('FAILED');
  });
});

const GiB = 1024 ** 3;
const BATCH_BUSY = 'This file is being imported with its batch; it can be deleted once the batch has finished.';

async function batchOfTwo(deps: ImportDeps): Promise<[string, string]> {
  const created = await createImport(deps, alice, {
    files: [
      { fileName: 'a.csv', size: 40, contentType: 'text/csv' },
      { fileName: 'b.csv', size: 40, contentType: 'text/csv' },
    ],
    type: 'direct',
  });
  if (!('batchId' in created)) throw new Error('expected a batch');
  const [a, b] = created.imports;
  if (!a || !b) throw new Error('expected two files');
  return [a.importId, b.importId];
}

/** Uploads the file where its form points and announces it, as S3's event does; the execution starts. */
async function started(deps: ImportDeps, importId: string): Promise<string> {
  const record = await deps.imports.get(importId);
  if (!record) throw new Error(`no import ${importId}`);
  deps.objects.put(record.upload.bucket, record.upload.key, 'id,dateCreated,content,tags\n', 'text/csv');
  expect(await onUploadCreated(deps, { bucket: record.upload.bucket, key: record.upload.key })).toBe('started');
  const execution = deps.executions.started.at(-1);
  if (!execution) throw new Error('no execution started');
  // The workflow's first check records the execution on the import.
  await scanForViruses(deps, { importId, executionArn: execution.executionArn });
  return execution.executionArn;
}

describe('the list of imports', () => {
  it('pages newest first with a cursor while more remain, and none on the last page', async () => {
    const deps = makeImportDeps();
    const older = await awaitingUpload(deps);
    deps.clock.advance(1000);
    const newer = await awaitingUpload(deps);

    const first = await listImports(deps, alice, { limit: 1 });
    expect({ ids: first.items.map((item) => item.importId), cursor: first.cursor }).toEqual({ ids: [newer], cursor: '1' });
    const last = await listImports(deps, alice, { limit: 1, cursor: '1' });
    expect(Object.keys(last)).toEqual(['items']);
    expect(last.items.map((item) => item.importId)).toEqual([older]);
  });
});

describe('cancelling an import before its commit', () => {
  it("stops the import's execution in the canceller's name and deletes the upload", async () => {
    const deps = makeImportDeps();
    const importId = await awaitingUpload(deps);
    const executionArn = await started(deps, importId);
    const { upload } = (await deps.imports.get(importId))!;

    expect(await cancelOrDeleteImport(deps, alice, importId)).toEqual({ cancelled: true });

    expect(deps.executions.executions.get(executionArn)).toMatchObject({ status: 'ABORTED', cause: 'Cancelled by alice' });
    expect(deps.objects.has(upload.bucket, upload.key)).toBe(false);
    expect((await deps.imports.get(importId))?.status).toBe('CANCELLED');
  });

  it('aborts a multipart upload still waiting for its parts', async () => {
    const deps = { ...makeImportDeps(), config: { ...importConfig, maxImportBytes: 50 * GiB } };
    const created = await createImport(deps, alice, { fileName: 'big.csv', size: 6 * GiB, contentType: 'text/csv', type: 'direct' });
    if (!('importId' in created) || created.upload.method !== 'multipart') throw new Error('expected one multipart import');
    expect([...deps.objects.multipartUploads.keys()]).toEqual([created.upload.uploadId]);

    expect(await cancelOrDeleteImport(deps, alice, created.importId)).toEqual({ cancelled: true });

    expect([...deps.objects.multipartUploads.keys()]).toEqual([]);
  });

  it("refuses (409) a batch's file once the batch is being imported, RUNNING or COMMITTING, and leaves it as it was", async () => {
    const deps = makeImportDeps();
    const [running, committing] = await batchOfTwo(deps);
    await deps.imports.markUploaded(running, deps.clock.now());
    await deps.imports.markUploaded(committing, deps.clock.now());
    await deps.imports.update(committing, { status: 'COMMITTING' }, deps.clock.now());

    for (const importId of [running, committing]) {
      const refusal = await cancelOrDeleteImport(deps, alice, importId).catch((error: unknown) => error);
      expect(refusal).toEqual(new Conflict(BATCH_BUSY));
      expect(refusal).toBeInstanceOf(Conflict);
    }
    expect([(await deps.imports.get(running))?.status, (await deps.imports.get(committing))?.status]).toEqual(['RUNNING', 'COMMITTING']);
  });

  it("cancels a batch's file still awaiting its upload", async () => {
    const deps = makeImportDeps();
    const [waiting] = await batchOfTwo(deps);

    expect(await cancelOrDeleteImport(deps, alice, waiting)).toEqual({ cancelled: true });
    expect((await deps.imports.get(waiting))?.status).toBe('CANCELLED');
  });
});

/** Records where the import finishes (as its last task would) just before the cancel's conditional write. */
class FinishingRecords extends InMemoryImportRecords {
  override async updateIf(importId: string, change: ImportChange, at: Date, from: readonly ImportStatus[]) {
    await this.update(importId, { status: 'SUCCEEDED', finishedAt: at.toISOString() }, at);
    return super.updateIf(importId, change, at, from);
  }
}

describe('deleting a finished import', () => {
  it('deletes its kept file, its error report, its upload and its record, and audits DELETED', async () => {
    const deps = makeImportDeps();
    const importId = await awaitingUpload(deps);
    const { upload } = (await deps.imports.get(importId))!;
    deps.objects.put(upload.bucket, upload.key, 'rows');
    deps.objects.put('permanent', `imports/${importId}.csv`, 'rows');
    deps.objects.put('permanent', `reports/${importId}.csv`, 'errors');
    await deps.imports.update(
      importId,
      { status: 'SUCCEEDED', permanentKey: `imports/${importId}.csv`, errorReportKey: `reports/${importId}.csv` },
      deps.clock.now(),
    );

    expect(await cancelOrDeleteImport(deps, alice, importId)).toEqual({ cancelled: false });

    expect(deps.objects.keys()).toEqual([]);
    expect(await deps.imports.get(importId)).toBeUndefined();
    expect(deps.audit.entries.get(`import:${importId}:DELETED`)).toMatchObject({ outcome: 'DELETED', userId: alice.userId });
  });

  it('an import that finishes while it is being cancelled is deleted instead of refused', async () => {
    const deps = { ...makeImportDeps(), imports: new FinishingRecords() };
    const importId = await awaitingUpload(deps);

    expect(await cancelOrDeleteImport(deps, alice, importId)).toEqual({ cancelled: false });
    expect(await deps.imports.get(importId)).toBeUndefined();
    expect(deps.audit.entries.has(`import:${importId}:CANCELLED`)).toBe(false);
  });
});

/** Fails every start with the given error, as the SFN adapter does when Step Functions does. */
class FailingExecutions extends FakeExecutions {
  constructor(private readonly failure: Error) {
    super();
  }

  override async start(): Promise<{ executionArn: string }> {
    throw this.failure;
  }
}

describe("starting an import's execution", () => {
  const job = {
    importIds: ['imp-1'],
    requestedBy: { userId: alice.userId, username: 'alice', email: alice.email },
    delivery: 'direct' as const,
    requestedAt: '2024-06-01T12:00:00.000Z',
    maxConcurrency: 4,
  };

  it('answers without an ARN when the execution of that name exists already (the event and /complete both start it)', async () => {
    expect(await startImportExecution(new FailingExecutions(new ExecutionAlreadyStarted('Execution Already Exists: imp-1')), job)).toEqual(
      {},
    );
  });

  it('passes on a start that failed for any other reason', async () => {
    const failure = new Transient('Rate exceeded');
    await expect(startImportExecution(new FailingExecutions(failure), job)).rejects.toBe(failure);
  });
});
