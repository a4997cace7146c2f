import { Readable } from 'node:stream';
import { TAG_SEPARATOR, csvField, csvLine, neutraliseFormula } from '../csv';
import { POST_COLUMNS, utcDateOf, type Post, type PostColumn } from '../model';

/** The export's CSV: a header row of the chosen columns, then one record per post (core/csv.ts writes them). */

/** The columns of an export, in order: the job's choice, or every column in the default order. */
export function exportColumns(columns?: readonly PostColumn[]): PostColumn[] {
  return columns && columns.length > 0 ? [...columns] : [...POST_COLUMNS];
}

/** Dates always in UTC `Z` (utcDateOf), whatever offset a post was stored with. */
const cellOf = (post: Post, column: PostColumn): string =>
  neutraliseFormula(
    column === 'tags' ? post.tags.join(TAG_SEPARATOR) : column === 'dateCreated' ? utcDateOf(post.dateCreated) : post[column],
  );

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
  options: { header?: boolean } = {},
): AsyncGenerator<string> {
  // A sliced export's later slices leave the header out: the file has it once, from its first slice.
  if (options.header !== false) yield csvLine(columns);
  yield* chunkedLines(batches, (post) => csvLineOfPost(post, columns), progress);
}

/**
 * The lines of every post in `batches`, one chunk per batch (or per CHUNK_CHARS of a large one), counted
 * into `progress` as each chunk goes: the body of every export format.
 */
export async function* chunkedLines(
  batches: AsyncIterable<Post[]>,
  lineOf: (post: Post) => string,
  progress: CsvProgress,
): AsyncGenerator<string> {
  for await (const batch of batches) {
    let text = '';
    let rows = 0;
    for (const post of batch) {
      text += lineOf(post);
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
