import type { Readable } from 'node:stream';
import { parse, type CsvError, type Options } from 'csv-parse';
import * as z from 'zod';
import { InvalidInput } from '../errors';
import { PostSchema, type Post } from '../model';
import { TAG_SEPARATOR, restoreFormula } from '../csv';
import { headerProblem } from './columns';
import { Utf8Validator } from './utf8';

/**
 * Reading an import file into posts.
 *
 * Ids: a row with an `id` (column or field, not empty) keeps it, so importing a file again updates the
 * same posts instead of adding copies (the import task decides created / updated / unchanged). A row
 * without one gets `<importId>-<rowNumber>`, so re-running the same import (a retry, a redrive) overwrites
 * instead of duplicating. A row without a `userId` is the uploader's (`defaultUserId`). CSV cells have the
 * export's formula guard reversed (restoreFormula); dates are kept as written (any ISO 8601 offset; the
 * export writes them in UTC), so an export imported again gives back the same posts.
 *
 * Row numbers count data records from 1: the CSV header and blank lines are not rows; a CSV record
 * spanning several lines (quoted newlines) is one row. Each row is either a valid post or a rejected row
 * with its reason; nothing is dropped silently. Problems that make the rest of the file unreadable
 * (not UTF-8, a bad header, broken quoting, an over-long CSV record) stop the read with InvalidInput
 * (field "file"): batches yielded before that stay valid, but the file is not fully imported.
 */

export type RowFormat = 'csv' | 'ndjson';

export interface ReadImportRowsOptions {
  importId: string;
  format: RowFormat;
  /** The author of rows without a userId: the uploader. */
  defaultUserId: string;
  /** Posts per yielded batch (and at most this many rejected rows). Default 500. */
  batchSize?: number;
  /** Longest record accepted, in bytes (CSV: characters). Default 1 MiB; a post's content is at most 100,000 characters. */
  maxRecordBytes?: number;
}

export interface RejectedRow {
  rowNumber: number;
  reason: string;
  /** The row as it was in the file (the CSV record or the NDJSON line, without its line ending). */
  raw: string;
}

export interface ImportBatch {
  posts: Post[];
  /** Where each post came from: `origins[i]` is the row of `posts[i]`. */
  origins: Array<Omit<RejectedRow, 'reason'>>;
  rejected: RejectedRow[];
}

/** An empty cell (or JSON null) is a field left out. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' || value === null ? undefined : value), schema.optional());

/** What a row must be. `id` and `userId` may be left out (see above). Unknown fields are rejected, not dropped. */
export const ImportRowSchema = PostSchema.extend({
  id: optional(z.union([PostSchema.shape.id, z.number().transform(String)])),
  userId: optional(PostSchema.shape.userId),
  tags: PostSchema.shape.tags.default([]),
}).strict();

export const importedPostId = (importId: string, rowNumber: number): string => `${importId}-${rowNumber}`;

/** A row read from the file, before validation. */
interface SourceRow {
  rowNumber: number;
  raw: string;
  value?: unknown;
  problem?: string;
}

/** Streams an import file as batches of valid posts and rejected rows; memory is bounded by one batch. */
export async function* readImportRows(stream: Readable, options: ReadImportRowsOptions): AsyncGenerator<ImportBatch> {
  const batchSize = options.batchSize ?? 500;
  const maxRecordBytes = options.maxRecordBytes ?? 1024 * 1024;
  const source = options.format === 'csv' ? csvRows(stream, maxRecordBytes) : ndjsonRows(stream, maxRecordBytes);
  let batch: ImportBatch = { posts: [], origins: [], rejected: [] };
  for await (const rows of source) {
    for (const row of rows) {
      const outcome = toPost(row, options);
      if ('post' in outcome) {
        batch.posts.push(outcome.post);
        batch.origins.push({ rowNumber: row.rowNumber, raw: row.raw });
      } else batch.rejected.push(outcome.rejected);
      if (batch.posts.length >= batchSize || batch.rejected.length >= batchSize) {
        yield batch;
        batch = { posts: [], origins: [], rejected: [] };
      }
    }
  }
  if (batch.posts.length > 0 || batch.rejected.length > 0) yield batch;
}

function toPost(row: SourceRow, options: ReadImportRowsOptions): { post: Post } | { rejected: RejectedRow } {
  const reject = (reason: string) => ({ rejected: { rowNumber: row.rowNumber, reason, raw: row.raw } });
  if (row.problem !== undefined) return reject(row.problem);
  const parsed = ImportRowSchema.safeParse(row.value);
  if (!parsed.success) return reject(describeIssues(parsed.error));
  const { id, userId, dateCreated, content, tags } = parsed.data;
  return {
    post: {
      id: id ?? importedPostId(options.importId, row.rowNumber),
      userId: userId ?? options.defaultUserId,
      dateCreated,
      content,
      tags,
    },
  };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i > 0 ? '.' : ''}${String(part)}`)).join('');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

const notUtf8 = (offset: number) => new InvalidInput(`the file is not UTF-8 text (invalid bytes at or after byte ${offset})`, 'file');

/** The input's chunks as Buffers, each checked to be UTF-8 (the check carries split characters over). */
async function* utf8Chunks(stream: Readable): AsyncGenerator<Buffer> {
  const validator = new Utf8Validator(notUtf8);
  try {
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      validator.check(bytes);
      yield bytes;
    }
    validator.end();
  } finally {
    stream.destroy();
  }
}

/** csv-parse errors after which it still knows where the next record starts; any other stops the read. */
const RECOVERABLE_CSV_ERRORS = new Set(['CSV_RECORD_INCONSISTENT_FIELDS_LENGTH', 'INVALID_OPENING_QUOTE']);

/** What csv-parse hands on_record with `raw: true`. */
interface RawRecord {
  record: string[];
  raw: string;
}

/**
 * CSV rows, one array per input chunk. csv-parse is fed chunk by chunk and hands each record or skipped
 * record to a callback in file order; nothing queues in its readable side, so memory is one chunk's rows.
 */
async function* csvRows(stream: Readable, maxRecordBytes: number): AsyncGenerator<SourceRow[]> {
  let header: string[] | undefined;
  let rowNumber = 0;
  let fatal: InvalidInput | undefined;
  let rows: SourceRow[] = [];
  const options: Options<null, RawRecord> = {
    bom: true,
    raw: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: maxRecordBytes,
    on_record: ({ record, raw }) => {
      if (!header) {
        const problem = headerProblem(record);
        if (problem) fatal ??= new InvalidInput(`the header row cannot be imported: ${problem}`, 'file');
        header = record;
      } else {
        rows.push({ rowNumber: ++rowNumber, raw: withoutLineEnding(raw), value: csvRecordToRow(header, record) });
      }
      return null;
    },
    on_skip: (error: CsvError | undefined, raw: string | undefined) => {
      if (error && RECOVERABLE_CSV_ERRORS.has(error.code) && header) {
        const reason =
          error.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH'
            ? `has ${fieldCount(error)} fields, the header has ${header.length}`
            : error.message;
        rows.push({ rowNumber: ++rowNumber, raw: withoutLineEnding(raw ?? ''), problem: `line ${error.lines}: ${reason}` });
      } else {
        const where = error?.lines !== undefined ? `line ${error.lines}: ` : '';
        fatal ??= new InvalidInput(`${where}${error?.message ?? 'unreadable CSV'}; the rows after it cannot be delimited reliably`, 'file');
      }
      return undefined;
    },
  };
  // csv-parse types on_record's record generically only in its `columns` overloads; ours are arrays.
  const parser = parse(options as unknown as Options);
  parser.on('error', () => undefined); // reported through the write/end callbacks below
  parser.resume();
  const step = (feed: (done: (error?: Error | null) => void) => void) =>
    new Promise<void>((resolve, reject) => feed((error) => (error ? reject(error) : resolve())));
  try {
    for await (const chunk of utf8Chunks(stream)) {
      await step((done) => parser.write(chunk, done));
      if (fatal) throw fatal;
      if (rows.length > 0) yield rows;
      rows = [];
    }
    await step((done) => parser.end(done));
    if (fatal) throw fatal;
    if (!header) throw new InvalidInput('the file has no header row', 'file');
    if (rows.length > 0) yield rows;
  } finally {
    parser.destroy();
  }
}

function fieldCount(error: CsvError): string {
  const record = (error as CsvError & { record?: unknown[] }).record;
  return Array.isArray(record) ? String(record.length) : 'a different number of';
}

function csvRecordToRow(header: readonly string[], record: readonly string[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  header.forEach((column, i) => (row[column] = record[i] === undefined ? undefined : restoreFormula(record[i])));
  if (typeof row.tags === 'string') {
    row.tags = row.tags.trim() === '' ? [] : row.tags.split(TAG_SEPARATOR).map((tag) => tag.trim());
  }
  return row;
}

const withoutLineEnding = (raw: string): string => raw.replace(/\r?\n$/, '');

/** NDJSON rows, one array per input chunk; a line is held only up to maxRecordBytes. */
async function* ndjsonRows(stream: Readable, maxRecordBytes: number): AsyncGenerator<SourceRow[]> {
  let rowNumber = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let first = true;

  const lineRow = (bytes: Buffer): SourceRow | undefined => {
    let text = bytes.toString('utf8');
    if (first && text.startsWith('\uFEFF')) text = text.slice(1);
    first = false;
    text = text.replace(/\r$/, '');
    if (text.trim() === '') return undefined;
    rowNumber++;
    try {
      return { rowNumber, raw: text, value: JSON.parse(text) };
    } catch (error) {
      return { rowNumber, raw: text, problem: `not valid JSON: ${(error as Error).message}` };
    }
  };
  const overlongRow = (start: Buffer): SourceRow => {
    first = false;
    return {
      rowNumber: ++rowNumber,
      raw: `${start.toString('utf8', 0, Math.min(200, start.length))}…`,
      problem: `the line is longer than ${maxRecordBytes} bytes`,
    };
  };

  for await (const chunk of utf8Chunks(stream)) {
    const rows: SourceRow[] = [];
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, end);
      start = end + 1;
      if (overlong) {
        overlong = false;
        continue;
      }
      const line = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      const row = line.length > maxRecordBytes ? overlongRow(line) : lineRow(line);
      if (row) rows.push(row);
    }
    if (!overlong && start < chunk.length) {
      const rest = chunk.subarray(start);
      pending.push(Buffer.from(rest));
      pendingBytes += rest.length;
      if (pendingBytes > maxRecordBytes) {
        rows.push(overlongRow(Buffer.concat(pending)));
        overlong = true;
        pending = [];
        pendingBytes = 0;
      }
    }
    if (rows.length > 0) yield rows;
  }
  if (!overlong && pendingBytes > 0) {
    const row = lineRow(Buffer.concat(pending));
    if (row) yield [row];
  }
}
