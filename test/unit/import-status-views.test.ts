import { describe, expect, it } from 'vitest';
import type { BatchStatusView, ImportPreview, ImportStatusView } from '../../core/contract';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../core/errors';
import type { User } from '../../core/model';
import type { ImportRecord } from '../../core/import/records';
import {
  completeImport,
  connectBrowserToImport,
  createImport,
  importStatus,
  listQuarantine,
  presignImportParts,
  statusView,
  submitImportMapping,
} from '../../core/import/use-cases';
import { alice, bob } from './fakes';
import { makeImportDeps } from './import-fakes';

/** What the status route, the quarantine list and the import's other routes answer, as whole values. */

const admin: User = { userId: 'user-admin', username: 'admin', email: 'admin@example.com', groups: ['admin'] };

const record = (fields: Partial<ImportRecord> = {}): ImportRecord => ({
  importId: 'imp-1',
  owner: { userId: alice.userId, username: 'alice', email: alice.email },
  fileName: 'posts.csv',
  size: 120,
  contentType: 'text/csv',
  delivery: 'direct',
  status: 'RUNNING',
  checks: { antivirus: 'clean', checksum: 'verified', format: 'pending' },
  upload: { bucket: 'uploads', key: `uploads/${alice.userId}/imp-1/r`, method: 'post' },
  createdAt: '2024-06-01T12:00:00.000Z',
  updatedAt: '2024-06-01T12:00:05.000Z',
  ...fields,
});

const preview: ImportPreview = {
  columns: ['who', 'when', 'what'],
  rows: [['alice', '2024', 'hi']],
  delimiter: ',',
  encoding: 'utf-8',
  suggestedMapping: { who: 'userId' },
};

describe('an import’s status', () => {
  it('says only what the record knows while it runs', async () => {
    expect(await statusView(makeImportDeps(), record())).toEqual<ImportStatusView>({
      importId: 'imp-1',
      fileName: 'posts.csv',
      status: 'RUNNING',
      checks: { antivirus: 'clean', checksum: 'verified', format: 'pending' },
      createdAt: '2024-06-01T12:00:00.000Z',
    });
  });

  it('shows a finished import’s encoding, delimiter, counts, mapping, dry run, batch, execution and end', async () => {
    const finished = record({
      status: 'SUCCEEDED',
      checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
      encoding: 'windows-1252',
      delimiter: ';',
      rowsImported: 0,
      rowsCreated: 0,
      rowsUpdated: 0,
      rowsUnchanged: 0,
      rowsRejected: 0,
      preview,
      mapping: { who: 'userId', when: 'dateCreated', what: 'content' },
      dryRun: true,
      batchId: 'batch-1',
      executionArn: 'arn:exec',
      finishedAt: '2024-06-01T12:01:00.000Z',
    });
    expect(await statusView(makeImportDeps(), finished)).toEqual<ImportStatusView>({
      importId: 'imp-1',
      fileName: 'posts.csv',
      status: 'SUCCEEDED',
      checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
      encoding: 'windows-1252',
      delimiter: ';',
      rowsImported: 0,
      rowsCreated: 0,
      rowsUpdated: 0,
      rowsUnchanged: 0,
      rowsRejected: 0,
      mapping: { who: 'userId', when: 'dateCreated', what: 'content' },
      dryRun: true,
      batchId: 'batch-1',
      executionArn: 'arn:exec',
      createdAt: '2024-06-01T12:00:00.000Z',
      finishedAt: '2024-06-01T12:01:00.000Z',
    });
  });

  it('shows the preview while waiting for a mapping, as RUNNING while committing', async () => {
    expect(await statusView(makeImportDeps(), record({ status: 'NEEDS_MAPPING', preview }))).toMatchObject({ status: 'NEEDS_MAPPING', preview });
    expect(await statusView(makeImportDeps(), record({ status: 'COMMITTING', preview }))).toEqual<ImportStatusView>({
      importId: 'imp-1',
      fileName: 'posts.csv',
      status: 'RUNNING',
      checks: { antivirus: 'clean', checksum: 'verified', format: 'pending' },
      createdAt: '2024-06-01T12:00:00.000Z',
    });
  });

  it('shows a quarantined file’s signature and reason, and that nothing of it was imported', async () => {
    const quarantined = record({
      status: 'QUARANTINED',
      checks: { antivirus: 'infected', checksum: 'pending', format: 'pending' },
      reason: 'The file contains malware (Eicar-Test-Signature). It was quarantined and nothing from it was imported.',
      quarantine: { bucket: 'quarantine', key: 'q/imp-1', signature: 'Eicar-Test-Signature', quarantinedAt: '2024-06-01T12:00:09.000Z' },
    });
    expect(await statusView(makeImportDeps(), quarantined)).toEqual<ImportStatusView>({
      importId: 'imp-1',
      fileName: 'posts.csv',
      status: 'QUARANTINED',
      checks: { antivirus: 'infected', checksum: 'pending', format: 'pending' },
      rowsImported: 0,
      rowsCreated: 0,
      rowsUpdated: 0,
      rowsUnchanged: 0,
      reason: 'The file contains malware (Eicar-Test-Signature). It was quarantined and nothing from it was imported.',
      signature: 'Eicar-Test-Signature',
      createdAt: '2024-06-01T12:00:00.000Z',
    });
  });
});

describe('a batch’s status', () => {
  it('counts its files by public status and is RUNNING until every file ended', async () => {
    const deps = makeImportDeps();
    const files = [1, 2, 3].map((n) => ({ fileName: `f${n}.csv`, size: 5, contentType: 'text/csv' }));
    const created = await createImport(deps, alice, { files, type: 'direct' });
    if (!('batchId' in created)) throw new Error('expected a batch');
    const [first = '', second = '', third = ''] = created.imports.map((file) => file.importId);
    const at = deps.clock.now();
    await deps.imports.update(first, { status: 'COMMITTING', checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' } }, at);
    const running = (await importStatus(deps, alice, created.batchId)) as BatchStatusView;
    expect({ ...running, files: running.files.map((file) => file.status) }).toEqual({
      batchId: created.batchId,
      status: 'RUNNING',
      checksComplete: false,
      counts: { AWAITING_UPLOAD: 2, RUNNING: 1, NEEDS_MAPPING: 0, SUCCEEDED: 0, QUARANTINED: 0, REJECTED: 0, FAILED: 0, CANCELLED: 0, EXPIRED: 0 },
      files: ['RUNNING', 'AWAITING_UPLOAD', 'AWAITING_UPLOAD'],
    });
    for (const [id, status] of [
      [first, 'SUCCEEDED'],
      [second, 'CANCELLED'],
      [third, 'EXPIRED'],
    ] as const)
      await deps.imports.update(id, { status }, at);
    const ended = (await importStatus(deps, alice, created.batchId)) as BatchStatusView;
    expect([ended.status, ended.checksComplete, ended.counts]).toEqual([
      'COMPLETED',
      true,
      { AWAITING_UPLOAD: 0, RUNNING: 0, NEEDS_MAPPING: 0, SUCCEEDED: 1, QUARANTINED: 0, REJECTED: 0, FAILED: 0, CANCELLED: 1, EXPIRED: 1 },
    ]);
  });

  it('is not found for an id Ferry could not have issued, or someone else’s batch', async () => {
    const deps = makeImportDeps();
    const created = await createImport(deps, alice, { files: [{ fileName: 'a.csv', size: 5, contentType: 'text/csv' }], type: 'direct' });
    if (!('batchId' in created)) throw new Error('expected a batch');
    await expect(importStatus(deps, bob, created.batchId)).rejects.toEqual(new NotFound('No import with that id.'));
    await expect(importStatus(deps, alice, 'bad id')).rejects.toEqual(new NotFound('No import with that id.'));
    await expect(importStatus(deps, alice, 'no-such-batch')).rejects.toEqual(new NotFound('No import with that id.'));
  });
});

describe('the import’s other routes', () => {
  const createOne = async (deps: ReturnType<typeof makeImportDeps>, fields: Record<string, unknown> = {}) => {
    const created = await createImport(deps, alice, { fileName: 'posts.csv', size: 20, contentType: 'text/csv', type: 'direct', ...fields });
    if (!('importId' in created)) throw new Error('expected one import');
    return created.importId;
  };

  it('records a dry run and a mapping given up front', async () => {
    const deps = makeImportDeps();
    const mapping = { who: 'userId', when: 'dateCreated', what: 'content' } as const;
    const importId = await createOne(deps, { dryRun: true, mapping });
    expect(await deps.imports.get(importId)).toMatchObject({ dryRun: true, mapping, delivery: 'direct', size: 20, contentType: 'text/csv' });
    const plain = await deps.imports.get(await createOne(deps));
    expect(plain).not.toHaveProperty('dryRun');
    expect(plain).not.toHaveProperty('mapping');
    expect(plain).not.toHaveProperty('batchId');
    expect(plain).not.toHaveProperty('kind');
    expect(plain).not.toHaveProperty('sha256');
  });

  it('refuses a mapping for an import that is not waiting for one, and a mapping that does not fit its columns', async () => {
    const deps = makeImportDeps();
    const importId = await createOne(deps);
    const body = { mapping: { who: 'userId', when: 'dateCreated', what: 'content' } };
    await expect(submitImportMapping(deps, alice, importId, body)).rejects.toEqual(
      new Conflict('The import is AWAITING_UPLOAD, not waiting for a column mapping.'),
    );
    await deps.imports.update(importId, { status: 'NEEDS_MAPPING', columns: ['who', 'when', 'what'] }, deps.clock.now());
    await expect(submitImportMapping(deps, alice, importId, body)).rejects.toEqual(
      new Conflict('The import is NEEDS_MAPPING, not waiting for a column mapping.'),
    );
    await deps.imports.update(importId, { mappingTaskToken: 'token-1' }, deps.clock.now());
    const wrong = await submitImportMapping(deps, alice, importId, { mapping: { who: 'userId' } }).catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(InvalidInput);
    expect(wrong).toMatchObject({ message: 'mapping: no column is mapped to dateCreated, content', field: 'mapping' });
    expect(await submitImportMapping(deps, alice, importId, body)).toEqual({ importId, status: 'RUNNING' });
    expect(await deps.imports.get(importId)).toMatchObject({ status: 'RUNNING', mapping: body.mapping });
  });

  it('refuses part links for a POST upload, and for an upload already done', async () => {
    const deps = makeImportDeps();
    const importId = await createOne(deps);
    await expect(presignImportParts(deps, alice, importId, {})).rejects.toMatchObject({
      message: 'This import is uploaded with one POST, not in parts.',
      field: 'importId',
    });
    const big = await createImport({ ...deps, config: { ...deps.config, maxImportBytes: 50 * 1024 ** 3 } }, alice, {
      fileName: 'big.csv',
      size: 6 * 1024 ** 3,
      contentType: 'text/csv',
      type: 'direct',
    });
    if (!('importId' in big)) throw new Error('expected one import');
    await deps.imports.update(big.importId, { status: 'RUNNING' }, deps.clock.now());
    await expect(presignImportParts(deps, alice, big.importId, { partNumbers: [1] })).rejects.toMatchObject({
      message: 'This import has already been uploaded.',
      field: 'importId',
    });
  });

  it('says how to upload a file that has not arrived when asked to complete it', async () => {
    const deps = makeImportDeps();
    const importId = await createOne(deps);
    await expect(completeImport(deps, alice, importId, {})).rejects.toMatchObject({
      message: 'The file has not arrived in storage yet; upload it with the form first.',
      field: 'importId',
    });
    const big = await createImport({ ...deps, config: { ...deps.config, maxImportBytes: 50 * 1024 ** 3 } }, alice, {
      fileName: 'big.csv',
      size: 6 * 1024 ** 3,
      contentType: 'text/csv',
      type: 'direct',
    });
    if (!('importId' in big)) throw new Error('expected one import');
    await expect(completeImport(deps, alice, big.importId, {})).rejects.toMatchObject({
      message: 'The file has not arrived in storage yet; complete the multipart upload with its parts.',
      field: 'parts',
    });
  });

  it('joins only the owner’s browser to an import’s or a batch’s push messages', async () => {
    const deps = makeImportDeps();
    const importId = await createOne(deps);
    await connectBrowserToImport(deps, alice, importId, 'conn-1');
    await expect(connectBrowserToImport(deps, bob, importId, 'conn-2')).rejects.toEqual(new NotFound('No import with that id.'));
    await expect(connectBrowserToImport(deps, alice, 'bad id', 'conn-3')).rejects.toEqual(new NotFound('No import with that id.'));
    await expect(connectBrowserToImport(deps, alice, 'no-such-import', 'conn-4')).rejects.toEqual(new NotFound('No import with that id.'));
    const created = await createImport(deps, alice, { files: [{ fileName: 'a.csv', size: 5, contentType: 'text/csv' }], type: 'push' });
    if (!('batchId' in created)) throw new Error('expected a batch');
    await connectBrowserToImport(deps, alice, created.batchId, 'conn-5');
    expect([...deps.rendezvous.byExecution]).toEqual([
      [`import:${importId}`, { connectionId: 'conn-1' }],
      [`import:${created.batchId}`, { connectionId: 'conn-5' }],
    ]);
  });
});

describe('the quarantine list', () => {
  it('is for admins only, in those words', async () => {
    await expect(listQuarantine(makeImportDeps(), alice, {})).rejects.toEqual(new Forbidden('Only admins can see the quarantine.'));
  });

  it('lists each quarantined file whole, and leaves out a record without quarantine details', async () => {
    const deps = makeImportDeps();
    const quarantine = { bucket: 'quarantine', key: 'q/imp-1', signature: 'Eicar-Test-Signature', quarantinedAt: '2024-06-01T12:00:09.000Z' };
    await deps.imports.create([record({ status: 'QUARANTINED', quarantine }), record({ importId: 'imp-2', status: 'QUARANTINED' })]);
    expect(await listQuarantine(deps, admin, {})).toEqual({
      items: [
        {
          importId: 'imp-1',
          fileName: 'posts.csv',
          userId: alice.userId,
          username: 'alice',
          email: alice.email,
          size: 120,
          signature: 'Eicar-Test-Signature',
          quarantinedAt: '2024-06-01T12:00:09.000Z',
          bucket: 'quarantine',
          key: 'q/imp-1',
        },
      ],
    });
  });
});
