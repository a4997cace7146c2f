import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExportProgress } from '../../../core/ports';
import type { OpenSubject, Subject } from './subject';

/** What every ExportProgress adapter must do (core/ports.ts): the last snapshot recorded, per export. */
export function describeExportProgress(name: string, open: OpenSubject<ExportProgress>): void {
  describe(`${name}: the ExportProgress port`, () => {
    let subject: Subject<ExportProgress>;
    let progress: ExportProgress;
    beforeEach(async () => {
      subject = await open();
      progress = subject.port;
    });
    afterEach(async () => {
      await subject.cleanup?.();
    });

    it('has nothing for an export that recorded nothing', async () => {
      expect(await progress.get('export-unknown')).toBeUndefined();
    });

    it('answers the last snapshot recorded, a missing total staying missing', async () => {
      await progress.record('export-1', { rowsWritten: 0, updatedAt: '2024-06-01T12:00:00.000Z' });
      expect(await progress.get('export-1')).toEqual({ rowsWritten: 0, updatedAt: '2024-06-01T12:00:00.000Z' });
      await progress.record('export-1', { rowsWritten: 20_000, totalRows: 1_000_000, updatedAt: '2024-06-01T12:00:02.000Z' });
      expect(await progress.get('export-1')).toEqual({ rowsWritten: 20_000, totalRows: 1_000_000, updatedAt: '2024-06-01T12:00:02.000Z' });
      await progress.record('export-1', { rowsWritten: 40_000, updatedAt: '2024-06-01T12:00:04.000Z' });
      expect(await progress.get('export-1')).toEqual({ rowsWritten: 40_000, updatedAt: '2024-06-01T12:00:04.000Z' });
    });

    it("adds every slice's rows to the recorded snapshot, each slice replacing only its own count", async () => {
      await progress.record('export-s', { rowsWritten: 0, totalRows: 300, updatedAt: '2024-06-01T12:00:00.000Z' });
      await progress.recordSlice('export-s', 0, 40, '2024-06-01T12:00:01.000Z');
      await progress.recordSlice('export-s', 2, 25, '2024-06-01T12:00:02.000Z');
      await progress.recordSlice('export-s', 0, 100, '2024-06-01T12:00:03.000Z');
      expect(await progress.get('export-s')).toEqual({ rowsWritten: 125, totalRows: 300, updatedAt: '2024-06-01T12:00:03.000Z' });
      // A new plan (a retried planning step) starts again from its own snapshot.
      await progress.record('export-s', { rowsWritten: 0, totalRows: 310, updatedAt: '2024-06-01T12:00:04.000Z' });
      expect(await progress.get('export-s')).toEqual({ rowsWritten: 0, totalRows: 310, updatedAt: '2024-06-01T12:00:04.000Z' });
    });

    it("keeps each slice's checkpoint apart from its rows and from the other slices", async () => {
      const checkpoint = { uploadId: 'up-1', parts: 2, rows: 70_000, bytes: 12_000_000, lastKey: { createdMs: 1_717_243_200_000, id: 'p-9' } };
      expect(await progress.sliceCheckpoint('export-c', 1)).toBeUndefined();
      await progress.record('export-c', { rowsWritten: 0, totalRows: 200_000, updatedAt: '2024-06-01T12:00:00.000Z' });
      await progress.recordSliceCheckpoint('export-c', 1, checkpoint);
      await progress.recordSlice('export-c', 1, 75_000, '2024-06-01T12:00:05.000Z');
      expect(await progress.sliceCheckpoint('export-c', 1)).toEqual(checkpoint);
      expect(await progress.sliceCheckpoint('export-c', 0)).toBeUndefined();
      expect(await progress.get('export-c')).toEqual({ rowsWritten: 75_000, totalRows: 200_000, updatedAt: '2024-06-01T12:00:05.000Z' });
    });

    it('keeps each export apart', async () => {
      await progress.record('export-1', { rowsWritten: 1, totalRows: 10, updatedAt: '2024-06-01T12:00:00.000Z' });
      await progress.record('export-2', { rowsWritten: 2, updatedAt: '2024-06-01T12:00:01.000Z' });
      expect(await progress.get('export-1')).toEqual({ rowsWritten: 1, totalRows: 10, updatedAt: '2024-06-01T12:00:00.000Z' });
      expect(await progress.get('export-2')).toEqual({ rowsWritten: 2, updatedAt: '2024-06-01T12:00:01.000Z' });
    });
  });
}
