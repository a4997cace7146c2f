import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ExportFormat } from '../contract';
import type { Post, PostColumn } from '../model';
import { csvChunks, type CsvProgress } from './csv';
import { ndjsonChunks } from './ndjson';

/** What the export file is: its format, whether Excel should open it as is, whether it is compressed. */
export interface ExportFileOptions {
  format: ExportFormat;
  /** CSV only: a UTF-8 byte order mark first, so Excel on Windows reads accents as UTF-8 (records are CRLF in every CSV). */
  excel: boolean;
  gzip: boolean;
}

/** A job's file options; a job written before the options existed is a plain CSV. */
export const fileOptionsOf = (job: { format?: ExportFormat; excel?: boolean; gzip?: boolean }): ExportFileOptions => ({
  format: job.format ?? 'csv',
  excel: job.excel === true,
  gzip: job.gzip === true,
});

/** `.csv`, `.ndjson`, `.csv.gz`, `.ndjson.gz`. */
export const fileExtensionOf = (options: ExportFileOptions): string => `.${options.format}${options.gzip ? '.gz' : ''}`;

/**
 * The object's Content-Type. A compressed file is `application/gzip` without a Content-Encoding: with
 * `Content-Encoding: gzip` browsers and HTTP clients would unpack it on the way and save plain text under a `.gz` name.
 */
export function contentTypeOf(options: ExportFileOptions): string {
  if (options.gzip) return 'application/gzip';
  return options.format === 'ndjson' ? 'application/x-ndjson; charset=utf-8' : 'text/csv; charset=utf-8';
}

const BYTE_ORDER_MARK = '\uFEFF';

async function* withByteOrderMark(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  yield BYTE_ORDER_MARK;
  yield* chunks;
}

/**
 * The file's text before any compression, chunk by chunk, each chunk ending with a whole row: pulled
 * straight from the generator, `progress.rows` counts exactly the rows of the chunks handed out so far.
 */
export function exportTextChunks(
  batches: AsyncIterable<Post[]>,
  columns: readonly PostColumn[],
  options: ExportFileOptions,
  progress: CsvProgress = { rows: 0 },
  part: { start?: boolean } = {},
): AsyncIterable<string> {
  const start = part.start !== false;
  const chunks = options.format === 'ndjson' ? ndjsonChunks(batches, columns, progress) : csvChunks(batches, columns, progress, { header: start });
  return start && options.excel && options.format === 'csv' ? withByteOrderMark(chunks) : chunks;
}

/**
 * The export file as a byte stream, in the chosen format, compressed on the way when asked. Pulled lazily
 * with backpressure through the gzip stream too: memory holds about one batch whatever the row count.
 * `start: false` (a sliced export's later slices) leaves out what the file has only once: the header and byte order mark.
 */
export function exportFileStream(
  batches: AsyncIterable<Post[]>,
  columns: readonly PostColumn[],
  options: ExportFileOptions,
  progress: CsvProgress = { rows: 0 },
  part: { start?: boolean } = {},
): Readable {
  const text = Readable.from(exportTextChunks(batches, columns, options, progress, part), { objectMode: false });
  if (!options.gzip) return text;
  const gzip = createGzip();
  // pipeline destroys both streams with the error when either fails, so the upload sees a failed body.
  pipeline(text, gzip, () => undefined);
  return gzip;
}
