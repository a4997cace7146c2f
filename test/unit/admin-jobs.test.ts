import { describe, expect, it } from 'vitest';
import { adminJobs } from '../../core/admin';
import { Forbidden, InvalidInput } from '../../core/errors';
import type { ExportRecord } from '../../core/export/records';
import type { ImportRecord } from '../../core/import/records';
import type { User } from '../../core/model';
import { alice, bob, InMemoryObjectStore, ManualClock } from './fakes';
import { importConfig, InMemoryImportRecords } from './import-fakes';
import { FixedUserDirectory, InMemoryExportRecords } from './job-fakes';

/** `GET /api/admin/jobs`: everyone's exports, or one user's imports, for admins only. */

const admin: User = { userId: 'user-admin', username: 'admin', email: 'admin@example.com', groups: ['admin'] };
const person = ({ userId, username, email }: User) => ({ userId, username, email });

const exportRecord = (exportId: string, owner: User, fields: Partial<ExportRecord> = {}): ExportRecord => ({
  exportId,
  owner: person(owner),
  delivery: 'direct',
  searchCriteria: {},
  status: 'SUCCEEDED',
  createdAt: `2024-06-01T12:00:0${exportId.slice(-1)}.000Z`,
  updatedAt: '2024-06-01T12:00:00.000Z',
  sharedWith: [],
  ...fields,
});

const importRecord = (importId: string, owner: User, fields: Partial<ImportRecord> = {}): ImportRecord => ({
  importId,
  owner: person(owner),
  fileName: `${importId}.csv`,
  size: 10,
  contentType: 'text/csv',
  delivery: 'direct',
  status: 'SUCCEEDED',
  checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
  upload: { bucket: 'uploads', key: `uploads/${owner.userId}/${importId}/r`, method: 'post' },
  createdAt: `2024-06-01T12:00:0${importId.slice(-1)}.000Z`,
  updatedAt: '2024-06-01T12:00:00.000Z',
  ...fields,
});

async function makeDeps() {
  const exportJobs = new InMemoryExportRecords();
  await exportJobs.create(exportRecord('e-1', alice));
  await exportJobs.create(exportRecord('e-2', bob, { status: 'FAILED', error: 'The export took too long and was stopped.' }));
  await exportJobs.create(exportRecord('e-3', alice, { status: 'RUNNING' }));
  const imports = new InMemoryImportRecords();
  await imports.create([importRecord('i-1', alice), importRecord('i-2', alice, { status: 'FAILED' }), importRecord('i-3', bob)]);
  return {
    exportJobs,
    imports,
    users: new FixedUserDirectory([alice, bob].map(person)),
    objects: new InMemoryObjectStore(),
    clock: new ManualClock(),
    config: importConfig,
  };
}

const ids = (page: { items: Array<{ kind: string } & ({ exportId: string } | { importId: string })> }) =>
  page.items.map((item) => ('exportId' in item ? item.exportId : item.importId));

describe('the admins’ job list', () => {
  it('is for admins only', async () => {
    await expect(adminJobs(await makeDeps(), alice, { kind: 'export', limit: 10 })).rejects.toEqual(new Forbidden('This page is for administrators.'));
  });

  it('lists everyone’s exports newest first, as an admin sees them', async () => {
    const page = await adminJobs(await makeDeps(), admin, { kind: 'export', limit: 10 });
    expect(ids(page)).toEqual(['e-3', 'e-2', 'e-1']);
    expect(page.items[1]).toEqual({
      kind: 'export',
      exportId: 'e-2',
      delivery: 'direct',
      searchCriteria: {},
      searchSummary: 'all posts',
      status: 'FAILED',
      createdAt: '2024-06-01T12:00:02.000Z',
      error: 'The export took too long and was stopped.',
      sharedWith: [],
      owner: 'bob',
      shared: true,
    });
    expect(page).not.toHaveProperty('cursor');
  });

  it('filters exports by status and by owner, and pages on with the cursor', async () => {
    const deps = await makeDeps();
    expect(ids(await adminJobs(deps, admin, { kind: 'export', status: 'RUNNING', limit: 10 }))).toEqual(['e-3']);
    expect(ids(await adminJobs(deps, admin, { kind: 'export', user: 'bob', limit: 10 }))).toEqual(['e-2']);
    const first = await adminJobs(deps, admin, { kind: 'export', limit: 2 });
    expect(ids(first)).toEqual(['e-3', 'e-2']);
    expect(first.cursor).toEqual(expect.any(String));
    const second = await adminJobs(deps, admin, { kind: 'export', limit: 2, ...(first.cursor ? { cursor: first.cursor } : {}) });
    expect(ids(second)).toEqual(['e-1']);
    expect(second).not.toHaveProperty('cursor');
  });

  it('refuses an export status that does not exist, naming those that do', async () => {
    const error = await adminJobs(await makeDeps(), admin, { kind: 'export', status: 'DONE', limit: 10 }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error).toMatchObject({
      message: 'status must be one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, EXPIRED.',
      field: 'status',
    });
  });

  it('lists one user’s imports, filtered by status, and nothing for a user nobody signs in as', async () => {
    const deps = await makeDeps();
    const page = await adminJobs(deps, admin, { kind: 'import', user: 'alice', limit: 10 });
    expect(ids(page).sort()).toEqual(['i-1', 'i-2']);
    expect(page.items.find((item) => 'importId' in item && item.importId === 'i-1')).toMatchObject({ kind: 'import', owner: 'alice', size: 10 });
    expect(ids(await adminJobs(deps, admin, { kind: 'import', user: 'alice', status: 'FAILED', limit: 10 }))).toEqual(['i-2']);
    expect(await adminJobs(deps, admin, { kind: 'import', user: 'zed', limit: 10 })).toEqual({ items: [] });
  });

  it('asks for a user to list imports of', async () => {
    const error = await adminJobs(await makeDeps(), admin, { kind: 'import', limit: 10 }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error).toMatchObject({ message: 'Imports are listed per user: name one with user=.', field: 'user' });
  });
});
