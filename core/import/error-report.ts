import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { stringify, type Stringifier } from 'csv-stringify';
import type { RejectedRow } from './rows';

/** The error report's columns: which data row, why it was rejected, and the row as it was in the file. */
export const ERROR_REPORT_COLUMNS = ['rowNumber', 'reason', 'raw'] as const;

/**
 * Spreadsheets run a cell starting with = + - @ (or a tab / carriage return before one) as a formula;
 * prefixing ' makes them show it as text. Applied to every cell, as in the export.
 */
export const neutralizeFormula = (cell: string): string => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell);

/**
 * Writes rejected rows as CSV to `stream` (hand it to ObjectStore.putStream). Someone must be reading
 * `stream`, or `write` waits: it respects backpressure so memory stays flat for any number of rows.
 */
export class ErrorReportWriter {
  readonly stream: Readable;
  private readonly csv: Stringifier;
  private count = 0;

  constructor() {
    this.csv = stringify({
      header: true,
      columns: [...ERROR_REPORT_COLUMNS],
      cast: { string: neutralizeFormula, number: (value) => String(value) },
    });
    this.stream = this.csv;
  }

  /** Rows written so far. */
  get rowCount(): number {
    return this.count;
  }

  async write(rows: readonly RejectedRow[]): Promise<void> {
    for (const row of rows) {
      this.count++;
      if (!this.csv.write({ rowNumber: row.rowNumber, reason: row.reason, raw: row.raw })) await once(this.csv, 'drain');
    }
  }

  /** Ends the report (the header alone when no row was rejected). */
  end(): void {
    this.csv.end();
  }
}
