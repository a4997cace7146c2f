import { describe, expect, it } from 'vitest';
import { cancelOrDeleteImport, listImports } from '../../core/import/jobs';
import { CANCELLED_IMPORT_REASON, currentImportRecord } from '../../core/import/records';
import { handleImportFailure } from '../../core/import/tasks';
import { createImport, importStatus } from '../../core/import/use-cases';
import { alice } from './fakes';
import { makeImportDeps, type ImportDeps } from './import-fakes';

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

    expect(await importStatus(deps, alice, importId)).toMatchObject({ status: 'CANCELLED', reason: CANCELLED_IMPORT_REASON, rowsImported: 0 });
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
