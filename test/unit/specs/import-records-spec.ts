import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../../adapters/list-cursor';
import { InvalidInput, NotFound } from '../../../core/errors';
import { PENDING_CHECKS, type ImportRecord } from '../../../core/import/records';
import type { ImportRecords } from '../../../core/ports';
import type { OpenSubject, Subject } from './subject';

/** What every ImportRecords adapter must do (core/import/records.ts), run against each. */

const at = new Date('2024-06-01T12:00:00.000Z');
const later = new Date('2024-06-01T12:05:00.000Z');

export const importRecord = (importId: string, extra: Partial<ImportRecord> = {}): ImportRecord => ({
  importId,
  owner: { userId: 'user-alice', username: 'alice', email: 'alice@example.com' },
  fileName: `${importId}.csv`,
  size: 10,
  contentType: 'text/csv',
  delivery: 'direct',
  status: 'AWAITING_UPLOAD',
  checks: { ...PENDING_CHECKS },
  upload: { bucket: 'uploads', key: `uploads/user-alice/${importId}/r`, method: 'post' },
  createdAt: at.toISOString(),
  updatedAt: at.toISOString(),
  ...extra,
});

const quarantineAt = (importId: string, quarantinedAt: string) => ({
  status: 'QUARANTINED' as const,
  quarantine: { bucket: 'quarantine', key: `quarantine/${importId}`, signature: 'Eicar-Test-Signature', quarantinedAt },
});

export function describeImportRecords(name: string, open: OpenSubject<ImportRecords>): void {
  describe(`${name}: the ImportRecords port`, () => {
    let subject: Subject<ImportRecords>;
    let imports: ImportRecords;
    beforeEach(async () => {
      subject = await open();
      imports = subject.port;
    });
    afterEach(async () => {
      await subject.cleanup?.();
    });

    it('reads a record back exactly as created, and nothing for an unknown id', async () => {
      const single = importRecord('a', { sha256: 'a'.repeat(64), upload: { bucket: 'uploads', key: 'k', method: 'multipart', uploadId: 'u-1', partBytes: 8, partCount: 2 } });
      await imports.create([single]);
      expect(await imports.get('a')).toEqual(single);
      expect(await imports.get('missing')).toBeUndefined();
    });

    it('lists a batch in request order, across many writes and result pages (2,000 files, the batch cap)', async () => {
      // Long names make the batch over 1 MB, so a DynamoDB Query needs several pages.
      const files = Array.from({ length: 2000 }, (_, i) => importRecord(`b-${String(1999 - i).padStart(4, '0')}`, { batchId: 'batch-1', fileName: `${'x'.repeat(600)}-${i}.csv` }));
      await imports.create(files);
      await imports.create([importRecord('other', { batchId: 'batch-2' })]);
      const listed = await imports.listBatch('batch-1');
      expect(listed.length).toBe(2000);
      expect(listed.map((r) => r.importId)).toEqual(files.map((r) => r.importId));
      expect(listed[1234]).toEqual(files[1234]);
      expect(await imports.listBatch('batch-none')).toEqual([]);
    });

    it('merges the checks of concurrent updates field by field and answers the record as it now is', async () => {
      await imports.create([importRecord('a')]);
      await Promise.all([
        imports.update('a', { checks: { antivirus: 'clean' } }, later),
        imports.update('a', { checks: { format: 'csv' } }, later),
        imports.update('a', { checks: { checksum: 'verified' }, computedSha256: 'f'.repeat(64) }, later),
      ]);
      const updated = await imports.update('a', { status: 'SUCCEEDED', rowsImported: 3, rowsRejected: 0, finishedAt: later.toISOString() }, later);
      const expected = importRecord('a', {
        checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
        computedSha256: 'f'.repeat(64),
        status: 'SUCCEEDED',
        rowsImported: 3,
        rowsRejected: 0,
        finishedAt: later.toISOString(),
        updatedAt: later.toISOString(),
      });
      expect(updated).toEqual(expected);
      expect(await imports.get('a')).toEqual(expected);
    });

    it('refuses to update an import that does not exist, creating nothing', async () => {
      await expect(imports.update('missing', { status: 'FAILED' }, at)).rejects.toBeInstanceOf(NotFound);
      expect(await imports.get('missing')).toBeUndefined();
    });

    it('a conditional update applies only from the given statuses: of two racing from RUNNING, exactly one wins', async () => {
      await imports.create([{ ...importRecord('a'), status: 'RUNNING' }]);
      const [commit, cancel] = await Promise.all([
        imports.updateIf('a', { status: 'COMMITTING' }, later, ['RUNNING', 'COMMITTING']),
        imports.updateIf('a', { status: 'FAILED', reason: 'cancelled' }, later, ['RUNNING']),
      ]);
      expect([commit?.status, cancel?.status].filter(Boolean)).toHaveLength(1);
      const now = await imports.get('a');
      expect(now?.status).toBe(commit ? 'COMMITTING' : 'FAILED');
      expect(await imports.updateIf('a', { status: 'FAILED' }, later, ['AWAITING_UPLOAD', 'RUNNING', 'NEEDS_MAPPING'])).toBeUndefined();
      expect(await imports.get('a')).toEqual(now);
    });

    it('a conditional update from a matching status applies the change like update; an absent import is NotFound', async () => {
      await imports.create([{ ...importRecord('a'), status: 'RUNNING' }]);
      const claimed = await imports.updateIf('a', { status: 'COMMITTING' }, later, ['RUNNING']);
      expect(claimed).toEqual({ ...(await imports.get('a')), status: 'COMMITTING', updatedAt: later.toISOString() });
      await expect(imports.updateIf('missing', { status: 'FAILED' }, at, ['RUNNING'])).rejects.toBeInstanceOf(NotFound);
      expect(await imports.get('missing')).toBeUndefined();
    });

    it('pins the first arrival\'s ETag and size on the record; a second arrival keeps them', async () => {
      await imports.create([importRecord('a')]);
      const first = await imports.markUploaded('a', at, { etag: 'first', bytes: 10 });
      expect(first.record).toMatchObject({ status: 'RUNNING', uploadedEtag: 'first', uploadedBytes: 10 });
      expect((await imports.markUploaded('a', later, { etag: 'second', bytes: 11 })).record).toEqual(first.record);
      expect(await imports.get('a')).toMatchObject({ uploadedEtag: 'first', uploadedBytes: 10 });
    });

    it('marks an upload once: AWAITING_UPLOAD becomes RUNNING, and a second arrival changes nothing', async () => {
      await imports.create([importRecord('a')]);
      const first = await imports.markUploaded('a', at);
      expect(first).toEqual({
        batchUploaded: true,
        record: importRecord('a', { status: 'RUNNING', uploadedAt: at.toISOString(), updatedAt: at.toISOString() }),
      });
      expect(await imports.markUploaded('a', later)).toEqual(first);
      await expect(imports.markUploaded('missing', at)).rejects.toBeInstanceOf(NotFound);
    });

    it('says a batch is uploaded only with its last file, and keeps saying so', async () => {
      await imports.create(['a', 'b', 'c'].map((id) => importRecord(id, { batchId: 'batch-1' })));
      expect((await imports.markUploaded('b', at)).batchUploaded).toBe(false);
      expect((await imports.markUploaded('b', at)).batchUploaded).toBe(false);
      expect((await imports.markUploaded('a', at)).batchUploaded).toBe(false);
      expect(await imports.markUploaded('c', at)).toMatchObject({ batchUploaded: true, record: { status: 'RUNNING', uploadedAt: at.toISOString() } });
      expect((await imports.markUploaded('a', later)).batchUploaded).toBe(true);
    });

    it('of a batch whose files all arrive together, exactly the last says the batch is uploaded', async () => {
      const ids = Array.from({ length: 30 }, (_, i) => `f-${i}`);
      await imports.create(ids.map((id) => importRecord(id, { batchId: 'batch-1' })));
      const results = await Promise.all(ids.map((id) => imports.markUploaded(id, at)));
      expect(results.filter((result) => result.batchUploaded)).toHaveLength(1);
      expect((await imports.listBatch('batch-1')).every((r) => r.status === 'RUNNING' && r.uploadedAt === at.toISOString())).toBe(true);
    });

    it('lists quarantined imports newest first, a page at a time, with no cursor after the last', async () => {
      await imports.create(['a', 'b', 'c', 'd', 'e'].map((id) => importRecord(id)));
      for (const [id, hour] of [['a', 10], ['c', 12], ['d', 11], ['e', 13]] as const) {
        await imports.update(id, quarantineAt(id, `2024-06-01T${hour}:00:00.000Z`), later);
      }
      const first = await imports.listQuarantined({ limit: 2 });
      expect(first.records.map((r) => r.importId)).toEqual(['e', 'c']);
      expect(first.records[0]).toEqual(importRecord('e', { ...quarantineAt('e', '2024-06-01T13:00:00.000Z'), updatedAt: later.toISOString() }));
      const second = await imports.listQuarantined({ limit: 2, cursor: first.nextCursor! });
      expect(second.records.map((r) => r.importId)).toEqual(['d', 'a']);
      expect(second).not.toHaveProperty('nextCursor');
      expect(await imports.listQuarantined({ limit: 10 })).not.toHaveProperty('nextCursor');
    });

    it("lists one user's resources (not imports, not another user's) newest first, a page at a time; remove deletes one", async () => {
      const resource = (id: string, createdAt: string, userId = 'user-alice') =>
        importRecord(id, { kind: 'resource', createdAt, owner: { userId, username: userId, email: `${userId}@example.com` } });
      await imports.create([resource('r1', '2024-06-01T10:00:00.000Z'), resource('r2', '2024-06-01T12:00:00.000Z')]);
      await imports.create([resource('r3', '2024-06-01T11:00:00.000Z'), importRecord('an-import')]);
      await imports.create([resource('r-bob', '2024-06-01T13:00:00.000Z', 'user-bob')]);
      const first = await imports.listResources('user-alice', { limit: 2 });
      expect(first.records.map((r) => r.importId)).toEqual(['r2', 'r3']);
      expect(first.records[0]).toEqual(resource('r2', '2024-06-01T12:00:00.000Z'));
      const second = await imports.listResources('user-alice', { limit: 2, cursor: first.nextCursor! });
      expect(second.records.map((r) => r.importId)).toEqual(['r1']);
      expect(second).not.toHaveProperty('nextCursor');
      await imports.delete('r3');
      await imports.delete('never-existed');
      expect(await imports.get('r3')).toBeUndefined();
      expect((await imports.listResources('user-alice', { limit: 10 })).records.map((r) => r.importId)).toEqual(['r2', 'r1']);
    });

    it('pages through many quarantined imports newest first, ties broken by id (descending), none lost or repeated', async () => {
      const ids = Array.from({ length: 30 }, (_, i) => `q-${String(i).padStart(2, '0')}`);
      await imports.create(ids.map((id) => importRecord(id)));
      // 23 of the 30 quarantined, three at a time within the same minute (the clock's resolution).
      const quarantined = ids.slice(0, 23);
      for (const [i, id] of quarantined.entries()) {
        await imports.update(id, quarantineAt(id, `2024-06-01T10:${String(Math.floor(i / 3)).padStart(2, '0')}:00.000Z`), later);
      }
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page: { records: ImportRecord[]; nextCursor?: string } = await imports.listQuarantined({ limit: 4, ...(cursor ? { cursor } : {}) });
        pages.push(page.records.map((r) => r.importId));
        cursor = page.nextCursor;
      } while (cursor && pages.length < 20);
      expect(pages.map((page) => page.length)).toEqual([4, 4, 4, 4, 4, 3]);
      const newestFirst = [...quarantined].sort((a, b) => {
        const minute = (id: string) => Math.floor(quarantined.indexOf(id) / 3);
        return minute(b) - minute(a) || b.localeCompare(a);
      });
      expect(pages.flat()).toEqual(newestFirst);
    });

    it('goes on from where the last quarantine page ended, even when newer files were quarantined meanwhile', async () => {
      await imports.create(['a', 'b', 'c', 'd', 'new'].map((id) => importRecord(id)));
      for (const [id, hour] of [['a', 10], ['b', 11], ['c', 12], ['d', 13]] as const) {
        await imports.update(id, quarantineAt(id, `2024-06-01T${hour}:00:00.000Z`), later);
      }
      const first = await imports.listQuarantined({ limit: 2 });
      expect(first.records.map((r) => r.importId)).toEqual(['d', 'c']);
      await imports.update('new', quarantineAt('new', '2024-06-01T14:00:00.000Z'), later);
      const second = await imports.listQuarantined({ limit: 2, cursor: first.nextCursor! });
      expect(second.records.map((r) => r.importId)).toEqual(['b', 'a']);
      expect(second).not.toHaveProperty('nextCursor');
      expect((await imports.listQuarantined({ limit: 1 })).records.map((r) => r.importId)).toEqual(['new']);
    });

    it('stores every record of a batch written in several requests, the batch then listed whole and in order', async () => {
      const files = Array.from({ length: 60 }, (_, i) => importRecord(`w-${String(59 - i).padStart(2, '0')}`, { batchId: 'batch-w' }));
      await imports.create(files);
      expect(await imports.listBatch('batch-w')).toEqual(files);
      expect(await Promise.all(files.map((file) => imports.get(file.importId)))).toEqual(files);
      // The batch counts every file as awaited: only the last of the 60 to arrive says it is uploaded.
      const arrivals = await Promise.all(files.map((file) => imports.markUploaded(file.importId, at)));
      expect(arrivals.filter((arrival) => arrival.batchUploaded)).toHaveLength(1);
    });

    it('refuses a quarantine cursor it did not give out as InvalidInput on cursor', async () => {
      await imports.create([importRecord('a')]);
      await imports.update('a', quarantineAt('a', '2024-06-01T10:00:00.000Z'), later);
      for (const cursor of ['%%%', encodeCursor({ pk: 'IMPORT#a' })]) {
        await expect(imports.listQuarantined({ limit: 5, cursor }), cursor).rejects.toSatisfy(
          (error) => error instanceof InvalidInput && error.field === 'cursor',
        );
      }
    });

    it("lists a user's imports newest first, page by page, and no one else's, and no resources", async () => {
      const minute = (m: number) => new Date(Date.UTC(2024, 5, 1, 12, m)).toISOString();
      await imports.create([importRecord('a-resource', { kind: 'resource', createdAt: minute(5) })]);
      await imports.create([importRecord('o1', { createdAt: minute(1) })]);
      await imports.create([importRecord('o2', { createdAt: minute(2) })]);
      await imports.create([importRecord('o3', { createdAt: minute(3) })]);
      await imports.create([importRecord('bobs', { createdAt: minute(4), owner: { userId: 'user-bob', username: 'bob', email: 'bob@example.com' } })]);
      const first = await imports.listOwnedBy('user-alice', { limit: 2 });
      expect(first.records.map((r) => r.importId)).toEqual(['o3', 'o2']);
      expect(first.records[0]).toEqual(importRecord('o3', { createdAt: minute(3) }));
      const second = await imports.listOwnedBy('user-alice', { limit: 2, ...(first.nextCursor ? { cursor: first.nextCursor } : {}) });
      expect(second.records.map((r) => r.importId)).toEqual(['o1']);
      expect(second.nextCursor).toBeUndefined();
    });

    it('deletes a record: it is gone from reads and lists', async () => {
      await imports.create([importRecord('gone')]);
      await imports.delete('gone');
      expect(await imports.get('gone')).toBeUndefined();
      expect((await imports.listOwnedBy('user-alice', { limit: 10 })).records).toEqual([]);
    });
  });
}
