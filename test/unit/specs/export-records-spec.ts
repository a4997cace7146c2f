import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFound } from '../../../core/errors';
import type { ExportRecord, JobPerson } from '../../../core/export/records';
import type { ExportRecords } from '../../../core/ports';
import type { OpenSubject, Subject } from './subject';

/** What every ExportRecords adapter must do (core/export/records.ts), run against each. */

const alice: JobPerson = { userId: 'user-alice', username: 'alice', email: 'alice@example.com' };
const bob: JobPerson = { userId: 'user-bob', username: 'bob', email: 'bob@example.com' };
const carol: JobPerson = { userId: 'user-carol', username: 'carol', email: 'carol@example.com' };
const at = new Date('2024-06-01T12:00:00.000Z');
const later = new Date('2024-06-01T12:05:00.000Z');

export const exportRecord = (exportId: string, extra: Partial<ExportRecord> = {}): ExportRecord => ({
  exportId,
  owner: alice,
  delivery: 'direct',
  searchCriteria: { q: 'river' },
  status: 'QUEUED',
  createdAt: at.toISOString(),
  updatedAt: at.toISOString(),
  sharedWith: [],
  ...extra,
});

const minute = (m: number) => new Date(Date.UTC(2024, 5, 1, 12, m)).toISOString();

export function describeExportRecords(name: string, open: OpenSubject<ExportRecords>): void {
  describe(`${name}: the ExportRecords port`, () => {
    let subject: Subject<ExportRecords>;
    let jobs: ExportRecords;
    beforeEach(async () => {
      subject = await open();
      jobs = subject.port;
    });
    afterEach(async () => {
      await subject.cleanup?.();
    });

    it('reads a record back exactly as created, and nothing for an unknown id', async () => {
      const record = exportRecord('e1', { columns: ['id', 'content'], executionArn: 'arn:x' });
      await jobs.create(record);
      expect(await jobs.get('e1')).toEqual(record);
      expect(await jobs.get('missing')).toBeUndefined();
    });

    it('applies a change and answers the record as it now is', async () => {
      await jobs.create(exportRecord('e1'));
      const updated = await jobs.update('e1', { status: 'RUNNING', startedAt: later.toISOString(), error: undefined }, later);
      expect(updated).toEqual({ ...exportRecord('e1'), status: 'RUNNING', startedAt: later.toISOString(), updatedAt: later.toISOString() });
      expect(await jobs.get('e1')).toEqual(updated);
    });

    it('applies a change only from the statuses named, and says so with undefined otherwise', async () => {
      await jobs.create(exportRecord('e1', { status: 'CANCELLED' }));
      expect(await jobs.update('e1', { status: 'SUCCEEDED' }, later, ['QUEUED', 'RUNNING'])).toBeUndefined();
      expect((await jobs.get('e1'))?.status).toBe('CANCELLED');
      expect((await jobs.update('e1', { status: 'EXPIRED' }, later, ['CANCELLED']))?.status).toBe('EXPIRED');
    });

    it('updating an unknown export is NotFound', async () => {
      await expect(jobs.update('missing', { status: 'RUNNING' }, later)).rejects.toBeInstanceOf(NotFound);
      await expect(jobs.update('missing', { status: 'RUNNING' }, later, ['QUEUED'])).rejects.toBeInstanceOf(NotFound);
    });

    it('shares with people once each, never with the owner, and unshares one of them', async () => {
      await jobs.create(exportRecord('e1'));
      await jobs.share('e1', [bob]);
      const shared = await jobs.share('e1', [bob, carol, alice]);
      expect(shared.sharedWith).toEqual([bob, carol]);
      expect((await jobs.unshare('e1', bob.userId)).sharedWith).toEqual([carol]);
      await expect(jobs.share('missing', [bob])).rejects.toBeInstanceOf(NotFound);
    });

    it('lists what a user owns and what is shared with them, newest first, page by page', async () => {
      for (let i = 0; i < 5; i++) await jobs.create(exportRecord(`a${i}`, { createdAt: minute(i) }));
      await jobs.create(exportRecord('b1', { owner: bob, createdAt: minute(10) }));
      await jobs.create(exportRecord('b2', { owner: bob, createdAt: minute(11), sharedWith: [alice] }));
      const first = await jobs.listVisibleTo(alice.userId, { limit: 4 });
      expect(first.records.map((r) => [r.record.exportId, r.sharedWithViewer])).toEqual([
        ['b2', true],
        ['a4', false],
        ['a3', false],
        ['a2', false],
      ]);
      expect(first.nextCursor).toBeDefined();
      const second = await jobs.listVisibleTo(alice.userId, { limit: 4, cursor: first.nextCursor });
      expect(second.records.map((r) => r.record.exportId)).toEqual(['a1', 'a0']);
      expect(second.nextCursor).toBeUndefined();
      expect((await jobs.listVisibleTo(bob.userId, { limit: 10 })).records.map((r) => r.record.exportId)).toEqual(['b2', 'b1']);
      expect((await jobs.listVisibleTo(carol.userId, { limit: 10 })).records).toEqual([]);
    });

    it('deletes a record with its shares: it is gone from every list', async () => {
      await jobs.create(exportRecord('e1', { sharedWith: [bob] }));
      await jobs.delete('e1');
      expect(await jobs.get('e1')).toBeUndefined();
      expect((await jobs.listVisibleTo(bob.userId, { limit: 10 })).records).toEqual([]);
      expect((await jobs.listVisibleTo(alice.userId, { limit: 10 })).records).toEqual([]);
    });

    it('lists every export for the admins, filtered by status and owner', async () => {
      await jobs.create(exportRecord('a1', { createdAt: minute(1), status: 'FAILED', error: 'boom' }));
      await jobs.create(exportRecord('a2', { createdAt: minute(2) }));
      await jobs.create(exportRecord('b1', { owner: bob, createdAt: minute(3), status: 'FAILED' }));
      expect((await jobs.listAll({ limit: 10 })).records.map((r) => r.exportId)).toEqual(['b1', 'a2', 'a1']);
      expect((await jobs.listAll({ limit: 10, status: 'FAILED' })).records.map((r) => r.exportId)).toEqual(['b1', 'a1']);
      expect((await jobs.listAll({ limit: 10, status: 'FAILED', ownerUsername: 'alice' })).records.map((r) => r.error)).toEqual(['boom']);
    });
  });
}
