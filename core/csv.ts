import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { POST_COLUMNS, type Post, type PostColumn } from './model';

/**
 * CSV for exports: RFC 4180 (CRLF records, fields quoted when they hold a comma, quote, CR or LF),
 * UTF-8, header row first, and cells neutralised against formula injection.
 */

/** Spreadsheets treat a cell starting with one of these as a formula (OWASP "CSV Injection"). */
const FORMULA_TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);

/** Prefixes a single quote to a cell a spreadsheet would run as a formula; other cells are unchanged. */
export function neutraliseFormula(cell: string): string {
  return FORMULA_TRIGGERS.has(cell.charAt(0)) ? `'${cell}` : cell;
}

/** The columns of an export, in order: the job's choice, or every column in the default order. */
export function exportColumns(columns?: readonly PostColumn[]): PostColumn[] {
  return columns && columns.length > 0 ? [...columns] : [...POST_COLUMNS];
}

const cellOf = (post: Post, column: PostColumn): string =>
  neutraliseFormula(column === 'tags' ? post.tags.join(';') : post[column]);

export const csvRecordOf = (post: Post, columns: readonly PostColumn[]): string[] =>
  columns.map((column) => cellOf(post, column));

// csv-stringify only quotes the configured record delimiter; a lone CR or LF must be quoted too.
const STRINGIFY_OPTIONS = { record_delimiter: 'windows', quoted_match: /[\r\n]/ } as const;

/** CSV text for some records (no header); one call per batch keeps the per-row cost low. */
export const csvLines = (records: string[][]): string => stringify(records, STRINGIFY_OPTIONS);

export interface CsvProgress {
  /** Data rows written so far (the header is not counted). */
  rows: number;
}

/**
 * The CSV text of every post in `batches`, header first, one chunk per batch. Pulled lazily, so the
 * consumer's pace sets how fast batches are read and memory holds about one batch at a time.
 */
export async function* csvChunks(
  batches: AsyncIterable<Post[]>,
  columns: readonly PostColumn[],
  progress: CsvProgress = { rows: 0 },
): AsyncGenerator<string> {
  yield csvLines([[...columns]]);
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    const text = csvLines(batch.map((post) => csvRecordOf(post, columns)));
    progress.rows += batch.length;
    yield text;
  }
}

/** A byte stream of the CSV (with backpressure: a batch is read only when the consumer wants more). */
export function postsToCsvStream(
  batches: AsyncIterable<Post[]>,
  columns: readonly PostColumn[],
  progress: CsvProgress = { rows: 0 },
): Readable {
  return Readable.from(csvChunks(batches, columns, progress), { objectMode: false });
}
