import type { Post } from '../model';
import type { Clock, ExportProgress, WarningLog } from '../ports';
import type { CsvProgress } from './csv';

/** Progress is recorded when this long or this many rows have passed since the last record, whichever comes first. */
export const PROGRESS_INTERVAL_MS = 2_000;
export const PROGRESS_EVERY_ROWS = 20_000;

/** Passes the batches through; once the CSV has taken one, tells the reporter how many rows are written. */
export async function* reportingProgress(
  batches: AsyncIterable<Post[]>,
  counter: CsvProgress,
  reporter: ProgressReporter,
): AsyncGenerator<Post[]> {
  for await (const batch of batches) {
    yield batch;
    reporter.rowsWritten(counter.rows);
  }
}

/**
 * Records progress now and then, never more than one write at a time, never awaited by the export:
 * a slow or failing progress store costs the export nothing (a failed write is logged and skipped).
 */
export class ProgressReporter {
  private rows = 0;
  private total: number | undefined;
  private lastRows = -1;
  private lastAt = 0;
  private writing = false;
  private pending: Promise<void> | undefined;

  /** `slice`: the reporter of one slice of a sliced export, recording that slice's rows (the port adds them up). */
  constructor(
    private readonly deps: { exportProgress: ExportProgress; clock: Clock; log?: WarningLog },
    private readonly exportId: string,
    private readonly slice?: number,
  ) {}

  knowTotal(total: number): void {
    this.total = total;
    this.write(this.deps.clock.now());
  }

  rowsWritten(rows: number): void {
    this.rows = rows;
    if (this.writing) return;
    const now = this.deps.clock.now();
    if (rows - this.lastRows >= PROGRESS_EVERY_ROWS || now.getTime() - this.lastAt >= PROGRESS_INTERVAL_MS) this.write(now);
  }

  /** A slice's last count, recorded once any write under way is done, so the slices add up to the total. */
  async finish(rows: number): Promise<void> {
    this.rows = rows;
    await this.pending;
    await this.send(this.deps.clock.now()).catch((error: unknown) => this.warn(error, 'Could not record export progress; the export carries on'));
  }

  warn(error: unknown, message: string): void {
    this.deps.log?.warn({ exportId: this.exportId, err: error }, message);
  }

  private write(now: Date): void {
    if (this.writing) return;
    this.writing = true;
    this.lastRows = this.rows;
    this.lastAt = now.getTime();
    this.pending = this.send(now)
      .catch((error: unknown) => this.warn(error, 'Could not record export progress; the export carries on'))
      .finally(() => {
        this.writing = false;
      });
  }

  private async send(now: Date): Promise<void> {
    if (this.slice !== undefined) return this.deps.exportProgress.recordSlice(this.exportId, this.slice, this.rows, now.toISOString());
    return this.deps.exportProgress.record(this.exportId, {
      rowsWritten: this.rows,
      ...(this.total !== undefined ? { totalRows: this.total } : {}),
      updatedAt: now.toISOString(),
    });
  }
}
