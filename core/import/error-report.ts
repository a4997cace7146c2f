import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { neutraliseFormula } from '../csv';
import { isReportColumn, REPORT_COLUMNS } from './columns';
import { charsetOf, encodeText, type TextEncoding } from './encoding';
import type { Delimiter } from './format';
import type { RejectedRow } from './rows';

/** An NDJSON file (or one whose header is unknown) has no columns of its own: its report holds the raw line. */
export const ERROR_REPORT_COLUMNS = ['line', 'error', 'raw'] as const;

/** What an error report written in `encoding` is stored as. */
export const errorReportContentType = (encoding: TextEncoding = 'utf-8'): string => `text/csv; charset=${charsetOf(encoding)}`;

/** How the uploaded file was written; its error report is written the same way. */
export interface ReportLayout {
  /** The file's header; absent for NDJSON. */
  columns?: readonly string[];
  /** False for a part of a report after its first (a chunk after the first): no header line, no byte order mark. */
  header?: boolean;
  delimiter?: Delimiter;
  encoding?: TextEncoding;
}

/**
 * Writes rejected rows to `stream` (hand it to ObjectStore.putStream) so a user can fix them in a spreadsheet
 * and upload the report again: a CSV file's own columns (a report's `line` and `error` columns, when the file
 * was one, are replaced), then `line` and `error`, in the file's delimiter and encoding; cells are neutralised
 * against formulas by the export's rule (core/csv.ts). Someone must be reading `stream`, or `write` waits: it
 * respects backpressure so memory stays flat for any number of rows.
 */
export class ErrorReportWriter {
  private readonly out = new PassThrough();
  readonly stream: Readable = this.out;
  private count = 0;
  private first = true;
  private readonly delimiter: Delimiter;
  private readonly encoding: TextEncoding;
  /** Positions of the file's own columns kept in the report. */
  private readonly kept: number[] | undefined;
  private readonly fieldNeedsQuotes: RegExp;

  constructor(layout: ReportLayout = {}) {
    this.delimiter = layout.delimiter ?? ',';
    this.encoding = layout.encoding ?? 'utf-8';
    this.fieldNeedsQuotes = new RegExp(`["\r\n${this.delimiter === '\t' ? '\t' : `\\${this.delimiter}`}]`);
    const columns = layout.columns;
    this.kept = columns?.flatMap((column, i) => (isReportColumn(column) ? [] : [i]));
    if (layout.header === false) this.first = false;
    else this.writeLine(columns && this.kept ? [...this.kept.map((i) => columns[i] ?? ''), ...REPORT_COLUMNS] : [...ERROR_REPORT_COLUMNS]);
  }

  /** What to store the report as. */
  get contentType(): string {
    return errorReportContentType(this.encoding);
  }

  /** Rows written so far. */
  get rowCount(): number {
    return this.count;
  }

  async write(rows: readonly RejectedRow[]): Promise<void> {
    for (const row of rows) {
      this.count++;
      const line = String(row.line ?? row.rowNumber + 1);
      const error = neutraliseFormula(row.reason);
      const cells = this.kept ? [...this.ownCells(row, this.kept), line, error] : [line, error, neutraliseFormula(row.raw)];
      if (!this.writeLine(cells)) await once(this.out, 'drain');
    }
  }

  /** Ends the report (the header alone when no row was rejected). */
  end(): void {
    this.out.end();
  }

  /**
   * The row in the file's columns: its fields, padded when it had too few; fields past the header's joined
   * into the last column so nothing is lost; a row that could not be split into fields as it was, in the first.
   */
  private ownCells(row: RejectedRow, kept: readonly number[]): string[] {
    const width = kept.length;
    if (!row.cells) return Array.from({ length: width }, (_, i) => (i === 0 ? neutraliseFormula(row.raw) : ''));
    const own = kept.map((i) => row.cells?.[i] ?? '');
    const extra = row.cells.slice(Math.max(...kept, -1) + 1);
    if (extra.length > 0 && width > 0) own[width - 1] = [own[width - 1] ?? '', ...extra].join(this.delimiter);
    return own.map(neutraliseFormula);
  }

  private writeLine(cells: readonly string[]): boolean {
    let text = '';
    for (let i = 0; i < cells.length; i++) text += (i === 0 ? '' : this.delimiter) + this.field(cells[i] ?? '');
    const bytes = encodeText(`${text}\r\n`, this.encoding, this.first);
    this.first = false;
    return this.out.write(bytes);
  }

  private field(cell: string): string {
    return this.fieldNeedsQuotes.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
  }
}
