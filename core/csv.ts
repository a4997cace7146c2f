import { Readable } from 'node:stream';
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

/**
 * RFC 4180 field: quoted when it holds a comma, a quote, CR or LF, with quotes doubled; otherwise as is.
 * Byte for byte what csv-stringify writes with CRLF records (test/unit/csv.test.ts checks), written by
 * hand because csv-stringify made ~5 KB of garbage per ~200-byte row, the main cost of an export.
 */
const NEEDS_QUOTES = /[",\r\n]/;
const QUOTE = /"/g;
const csvField = (cell: string): string => (NEEDS_QUOTES.test(cell) ? `"${cell.replace(QUOTE, '""')}"` : cell);

/** One CSV record, CRLF-terminated. */
const csvLine = (cells: readonly string[]): string => {
  let line = '';
  for (let i = 0; i < cells.length; i += 1) line += (i === 0 ? '' : ',') + csvField(cells[i] as string);
  return `${line}\r\n`;
};

/** CSV text for some records (no header); one call per batch keeps the per-row cost low. */
export const csvLines = (records: readonly (readonly string[])[]): string => {
  let text = '';
  for (const record of records) text += csvLine(record);
  return text;
};

/** The CSV record of one post, without building its cells as an array first. */
const csvLineOfPost = (post: Post, columns: readonly PostColumn[]): string => {
  let line = '';
  for (let i = 0; i < columns.length; i += 1) line += (i === 0 ? '' : ',') + csvField(cellOf(post, columns[i] as PostColumn));
  return `${line}\r\n`;
};

/**
 * A chunk is cut once its text reaches this many characters (≤ 64 KB in V8's heap), below V8's
 * large-object size (128 KB): large strings live in a space only a full GC frees, and a 1000-row
 * chunk held ~10 MB there during an export.
 */
const CHUNK_CHARS = 32 * 1024;

export interface CsvProgress {
  /** Data rows written so far (the header is not counted). */
  rows: number;
}

/**
 * The CSV text of every post in `batches`, header first, then one chunk per batch (or per CHUNK_CHARS
 * of a large one). Pulled lazily, so the consumer's pace sets how fast batches are read and memory
 * holds about one batch at a time.
 */
export async function* csvChunks(
  batches: AsyncIterable<Post[]>,
  columns: readonly PostColumn[],
  progress: CsvProgress = { rows: 0 },
): AsyncGenerator<string> {
  yield csvLine(columns);
  for await (const batch of batches) {
    let text = '';
    let rows = 0;
    for (const post of batch) {
      text += csvLineOfPost(post, columns);
      rows += 1;
      if (text.length >= CHUNK_CHARS) {
        progress.rows += rows;
        yield text;
        text = '';
        rows = 0;
      }
    }
    if (rows === 0) continue;
    progress.rows += rows;
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
