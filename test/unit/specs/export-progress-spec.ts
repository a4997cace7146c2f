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

    it('keeps each export apart', async () => {
      await progress.record('export-1', { rowsWritten: 1, totalRows: 10, updatedAt: '2024-06-01T12:00:00.000Z' });
      await progress.record('export-2', { rowsWritten: 2, updatedAt: '2024-06-01T12:00:01.000Z' });
      expect(await progress.get('export-1')).toEqual({ rowsWritten: 1, totalRows: 10, updatedAt: '2024-06-01T12:00:00.000Z' });
      expect(await progress.get('export-2')).toEqual({ rowsWritten: 2, updatedAt: '2024-06-01T12:00:01.000Z' });
    });
  });
}
