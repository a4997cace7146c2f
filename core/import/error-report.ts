import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { csvLine, neutraliseFormula } from '../csv';
import type { ObjectStore } from '../ports';
import type { ImportConfig } from './config';
import type { ImportRecord } from './records';
import type { RejectedRow } from './rows';

/** The error report's columns: which data row, why it was rejected, and the row as it was in the file. */
export const ERROR_REPORT_COLUMNS = ['rowNumber', 'reason', 'raw'] as const;

/**
 * Writes rejected rows as CSV (core/csv.ts, the export's writer and formula rule) to `stream` (hand it to
 * ObjectStore.putStream). Someone must be reading `stream`, or `write` waits: it respects backpressure so
 * memory stays flat for any number of rows.
 */
export class ErrorReportWriter {
  private readonly csv = new PassThrough();
  readonly stream: Readable = this.csv;
  private count = 0;

  constructor() {
    this.csv.write(csvLine(ERROR_REPORT_COLUMNS));
  }

  /** Rows written so far. */
  get rowCount(): number {
    return this.count;
  }

  async write(rows: readonly RejectedRow[]): Promise<void> {
    for (const row of rows) {
      this.count++;
      const line = csvLine([String(row.rowNumber), neutraliseFormula(row.reason), neutraliseFormula(row.raw)]);
      if (!this.csv.write(line)) await once(this.csv, 'drain');
    }
  }

  /** Ends the report (the header alone when no row was rejected). */
  end(): void {
    this.csv.end();
  }
}

/** Links to an error report live a day; the status endpoint hands out a fresh one on every read. */
export const ERROR_REPORT_LINK_SECONDS = 24 * 3600;

export async function presignErrorReport(
  deps: { objects: ObjectStore; config: Pick<ImportConfig, 'permanentBucket'> },
  record: ImportRecord,
  seconds = ERROR_REPORT_LINK_SECONDS,
) {
  if (!record.errorReportKey || !record.rowsRejected) return undefined;
  const base =
    record.fileName
      .replace(/\.[^.]*$/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .slice(0, 80) || 'import';
  return deps.objects.presignGet(deps.config.permanentBucket, record.errorReportKey, seconds, `${base}-rejected-rows.csv`);
}
