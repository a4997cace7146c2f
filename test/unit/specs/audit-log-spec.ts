import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../../adapters/list-cursor';
import { InvalidInput } from '../../../core/errors';
import type { AuditEntry, AuditLog } from '../../../core/ports';
import type { OpenSubject, Subject } from './subject';

/** What every AuditLog adapter must do (core/ports.ts), run against each so both homes list the same trail. */

export const auditEntry = (id: string, recordedAt: string, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  id,
  kind: 'export',
  executionArn: `arn:aws:states:us-east-1:000000000000:execution:export:${id}`,
  userId: 'user-alice',
  username: 'alice',
  delivery: 'push',
  searchCriteria: { q: 'ferry', tags: ['sea', 'boat'], from: '2024-01-01' },
  rowCount: 3,
  outcome: 'SUCCEEDED',
  requestedAt: '2024-06-01T12:00:00.000Z',
  recordedAt,
  ...overrides,
});

const at = (second: number) => `2024-06-01T12:${String(Math.floor(second / 60)).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}.000Z`;

async function everyPage(log: AuditLog, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await log.list({ limit, ...(cursor ? { cursor } : {}) });
    pages.push(page.entries.map((entry) => entry.id));
    cursor = page.nextCursor;
  } while (cursor && pages.length < 100);
  return pages;
}

export function describeAuditLog(name: string, open: OpenSubject<AuditLog>): void {
  describe(`${name}: the AuditLog port`, () => {
    let subject: Subject<AuditLog>;
    let log: AuditLog;
    beforeEach(async () => {
      subject = await open();
      log = subject.port;
    });
    afterEach(async () => {
      await subject.cleanup?.();
    });

    it('reads an entry back exactly as recorded, optional fields absent as they were', async () => {
      const full = auditEntry('export:e1:SUCCEEDED', at(1));
      const bare = auditEntry('import:i1:REQUESTED', at(0), { kind: 'import', delivery: 'email', outcome: 'REQUESTED' });
      delete bare.executionArn;
      delete bare.searchCriteria;
      delete bare.rowCount;
      await log.record(full);
      await log.record(bare);
      expect(await log.list({ limit: 10 })).toEqual({ entries: [full, bare] });
    });

    it('lists newest first, ties broken by id (descending), a page at a time', async () => {
      for (const [id, second] of [['b', 2], ['a', 1], ['d', 3], ['c', 3], ['e', 5]] as const) await log.record(auditEntry(id, at(second)));
      expect(await everyPage(log, 2)).toEqual([['e', 'd'], ['c', 'b'], ['a']]);
    });

    it('gives no cursor after the last entry, even when the last page is full', async () => {
      for (let second = 1; second <= 4; second++) await log.record(auditEntry(`e${second}`, at(second)));
      expect(await everyPage(log, 2)).toEqual([['e4', 'e3'], ['e2', 'e1']]);
      expect(await log.list({ limit: 4 })).not.toHaveProperty('nextCursor');
    });

    it('pages through a long trail without losing or repeating an entry', async () => {
      const ids = Array.from({ length: 45 }, (_, i) => `entry-${String(i).padStart(2, '0')}`);
      for (const [i, id] of ids.entries()) await log.record(auditEntry(id, at(i)));
      const pages = await everyPage(log, 7);
      expect(pages.map((page) => page.length)).toEqual([7, 7, 7, 7, 7, 7, 3]);
      expect(pages.flat()).toEqual([...ids].reverse());
    });

    it('goes on from where the last page ended, even when newer entries were recorded meanwhile', async () => {
      for (let second = 1; second <= 5; second++) await log.record(auditEntry(`e${second}`, at(second)));
      const first = await log.list({ limit: 2 });
      expect(first.entries.map((entry) => entry.id)).toEqual(['e5', 'e4']);
      await log.record(auditEntry('e9', at(9)));
      await log.record(auditEntry('e6', at(6)));
      const second = await log.list({ limit: 2, cursor: first.nextCursor! });
      expect(second.entries.map((entry) => entry.id)).toEqual(['e3', 'e2']);
      const third = await log.list({ limit: 2, cursor: second.nextCursor! });
      expect(third).toEqual({ entries: [auditEntry('e1', at(1))] });
    });

    it('keeps one entry per id when a record is retried: the last write wins', async () => {
      await log.record(auditEntry('e1', at(0), { outcome: 'REQUESTED' }));
      await log.record(auditEntry('e1', at(9), { outcome: 'FAILED', error: 'boom' }));
      const { entries } = await log.list({ limit: 10 });
      expect(entries).toEqual([auditEntry('e1', at(9), { outcome: 'FAILED', error: 'boom' })]);
    });

    it('answers an empty trail with no entries and no cursor', async () => {
      expect(await log.list({ limit: 5 })).toEqual({ entries: [] });
    });

    it('refuses a cursor it did not give out as InvalidInput on cursor', async () => {
      await log.record(auditEntry('e1', at(0)));
      for (const cursor of ['not-a-cursor', encodeCursor({ pk: 'USER#x' }), encodeCursor({ gsi1pk: 'OTHER', gsi1sk: 'x', pk: 'a', sk: 'b' })]) {
        await expect(log.list({ limit: 5, cursor }), cursor).rejects.toSatisfy(
          (error) => error instanceof InvalidInput && error.field === 'cursor',
        );
      }
    });
  });
}
