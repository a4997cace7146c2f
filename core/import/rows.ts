import type { Readable } from 'node:stream';
import { parse, type CsvError, type Options } from 'csv-parse';
import * as z from 'zod';
import { InvalidInput } from '../errors';
import { PostSchema, type Post, type PostColumn } from '../model';
import { TAG_SEPARATOR, restoreFormula } from '../csv';
import { headerProblem } from './columns';
import { decoderFor, type TextEncoding } from './encoding';
import type { Delimiter } from './format';
import { mappedFields, mappingProblem, type ColumnMapping } from './mapping';
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
 * spanning several lines (quoted newlines) is one row. A rejected row also carries its `line` as a
 * spreadsheet shows it (CSV: the header is line 1, blank lines count, a multi-line record is one line;
 * NDJSON: the physical line). Each row is either a valid post or a rejected row with its reason in plain
 * words; nothing is dropped silently. A quote inside an unquoted field is a literal character (as Excel
 * and Python's csv read it); a quote never closed rejects the line it opens on, and the lines after it
 * are read again as rows. Problems that make the rest of the file unreadable (bytes not in the detected
 * encoding, a bad header, an over-long CSV record) stop the read with InvalidInput (field "file"):
 * batches yielded before that stay valid, but the file is not fully imported.
 */

export type RowFormat = 'csv' | 'ndjson';

/** The longest record read by default (CSV: characters; NDJSON: bytes). */
export const MAX_RECORD_BYTES = 1024 * 1024;

export interface ReadImportRowsOptions {
  importId: string;
  format: RowFormat;
  /** The author of rows without a userId: the uploader. */
  defaultUserId: string;
  /** Rows per yielded batch (rows batchSize·k+1 to batchSize·(k+1) of the file, valid or rejected). Default 500. */
  batchSize?: number;
  /** Longest record accepted, in bytes (CSV: characters). Default 1 MiB; a post's content is at most 100,000 characters. */
  maxRecordBytes?: number;
  /** As the format check detected it. Default UTF-8 (a UTF-8 byte order mark is skipped). */
  encoding?: TextEncoding;
  /** CSV only, as the format check detected it. Default comma. */
  delimiter?: Delimiter;
  /** CSV only: the field each column fills; without one, the header must name post fields itself. */
  mapping?: ColumnMapping;
  /**
   * A chunk of a larger file (core/import/chunks.ts): the rows and lines before it, so its rows are numbered as in
   * the whole file. A CSV chunk's stream starts with the file's header record.
   */
  continueFrom?: { rowsBefore: number; linesBefore: number };
}

export interface RejectedRow {
  rowNumber: number;
  reason: string;
  /** The row as it was in the file (the CSV record or the NDJSON line, without its line ending). */
  raw: string;
  /** Where a spreadsheet (CSV) or an editor (NDJSON) shows the row; see the file comment. */
  line?: number;
  /** CSV: the row's fields as read, when it could be split into fields. */
  cells?: string[];
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
  content: PostSchema.shape.content.refine((content) => content.trim() !== '', { message: 'is empty' }),
  id: optional(z.union([PostSchema.shape.id, z.number().transform(String)])),
  userId: optional(PostSchema.shape.userId),
  tags: PostSchema.shape.tags.default([]),
}).strict();

export const importedPostId = (importId: string, rowNumber: number): string => `${importId}-${rowNumber}`;

/** A row read from the file, before validation. */
interface SourceRow {
  rowNumber: number;
  raw: string;
  line?: number;
  cells?: string[];
  value?: unknown;
  problem?: string;
}

/** Streams an import file as batches of valid posts and rejected rows; memory is bounded by one batch. */
export async function* readImportRows(stream: Readable, options: ReadImportRowsOptions): AsyncGenerator<ImportBatch> {
  const batchSize = options.batchSize ?? 500;
  const maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  const chunks = textChunks(stream, options.encoding ?? 'utf-8');
  const source =
    options.format === 'csv'
      ? csvRows(chunks, maxRecordBytes, options.delimiter ?? ',', options.mapping, options.continueFrom)
      : ndjsonRows(chunks, maxRecordBytes, options.continueFrom);
  let batch: ImportBatch = { posts: [], origins: [], rejected: [] };
  for await (const rows of source) {
    for (const row of rows) {
      const outcome = toPost(row, options);
      if ('post' in outcome) {
        batch.posts.push(outcome.post);
        batch.origins.push({
          rowNumber: row.rowNumber,
          raw: row.raw,
          ...(row.line !== undefined ? { line: row.line } : {}),
          ...(row.cells ? { cells: row.cells } : {}),
        });
      } else batch.rejected.push(outcome.rejected);
      // Batches are rows 1..batchSize, batchSize+1..2·batchSize, ... of the file, whatever their outcome, so a chunk
      // made of whole batches (chunks.ts) sees the same batches as the whole file read at once.
      if (row.rowNumber % batchSize === 0) {
        yield batch;
        batch = { posts: [], origins: [], rejected: [] };
      }
    }
  }
  if (batch.posts.length > 0 || batch.rejected.length > 0) yield batch;
}

function toPost(row: SourceRow, options: ReadImportRowsOptions): { post: Post } | { rejected: RejectedRow } {
  const reject = (reason: string) => ({
    rejected: {
      rowNumber: row.rowNumber,
      reason,
      raw: row.raw,
      ...(row.line !== undefined ? { line: row.line } : {}),
      ...(row.cells ? { cells: row.cells } : {}),
    },
  });
  if (row.problem !== undefined) return reject(row.problem);
  const parsed = ImportRowSchema.safeParse(row.value);
  if (!parsed.success) return reject(describeIssues(parsed.error, row.value));
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

/** A schema failure in plain words: "content is empty", "dateCreated is not a date: 31/02/2024". */
function describeIssues(error: z.ZodError, value: unknown): string {
  return error.issues.map((issue) => describeIssue(issue, value)).join('; ');
}

function describeIssue(issue: z.core.$ZodIssue, row: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `"${key}" is not a post field (expected some of id, userId, dateCreated, content, tags)`).join('; ');
  }
  const [field, index] = issue.path;
  const name = typeof index === 'number' ? `tag ${index + 1}` : typeof field === 'string' ? field : 'the row';
  const value = valueAt(row, issue.path);
  if (value === undefined && issue.code === 'invalid_type') return `${name} is missing`;
  // Whatever check a blank cell fails (a tag's minimum, content's refinement, dateCreated's format), it is empty.
  if (typeof value === 'string' && value.trim() === '') return `${name} is empty`;
  switch (issue.code) {
    case 'invalid_type':
      if (field === undefined) return `the row must be a JSON object of post fields, not ${describeValue(value)}`;
      return field === 'tags' && index === undefined
        ? `tags must be a list of text, not ${describeValue(value)}`
        : `${name} must be text, not ${describeValue(value)}`;
    case 'invalid_union': // the id alone is a union: text, or a number taken as text
      return `${name} must be text or a number, not ${describeValue(value)}`;
    case 'invalid_format':
      return field === 'dateCreated'
        ? `dateCreated is not a date: ${String(value)} (expected ISO 8601, such as 2024-05-01T10:00:00Z)`
        : `${name} is not valid: ${String(value)}`;
    case 'too_big':
      return field === 'tags' && index === undefined
        ? `there are more than ${String(issue.maximum)} tags`
        : `${name} is longer than ${String(issue.maximum)} characters`;
    default:
      return `${name}: ${issue.message}`;
  }
}

function valueAt(row: unknown, path: readonly PropertyKey[]): unknown {
  let value = row;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const describeValue = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'a list'
      : typeof value === 'object'
        ? 'an object'
        : `${typeof value} ${JSON.stringify(value)}`;

const notUtf8 = (offset: number) => new InvalidInput(`the file is not UTF-8 text (invalid bytes at or after byte ${offset})`, 'file');

/**
 * The input's chunks as UTF-8 Buffers: a UTF-8 file's own chunks, checked (the check carries split characters
 * over); any other encoding decoded with iconv-lite and re-encoded, so the parsers always read UTF-8.
 */
async function* textChunks(stream: Readable, encoding: TextEncoding): AsyncGenerator<Buffer> {
  if (encoding === 'utf-8' || encoding === 'utf-8-bom') {
    yield* utf8Chunks(stream);
    return;
  }
  const decoder = decoderFor(encoding);
  try {
    for await (const chunk of stream) {
      const text = decoder.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
      if (text !== '') yield Buffer.from(text);
    }
    const rest = decoder.end();
    if (rest !== '') yield Buffer.from(rest);
  } finally {
    stream.destroy();
  }
}

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

/** What csv-parse hands on_record with `raw: true` and `info: true`. */
interface RawRecord {
  record: string[];
  raw: string;
  info: { empty_lines: number };
}

const UNCLOSED_QUOTE = 'a quote opened in this row is never closed, so its fields cannot be told apart';

/**
 * CSV rows, one array per input chunk. csv-parse is fed chunk by chunk and hands each record or skipped
 * record to a callback in file order; nothing queues in its readable side, so memory is one chunk's rows.
 * A quote never closed swallows the rest of the file into one record, which csv-parse reports at the end
 * (or once it passes maxRecordBytes, which stops the read): the line it opened on is rejected and the text
 * after that line is read again by a fresh parser, so the rows after it still import.
 */
async function* csvRows(
  chunks: AsyncIterable<Buffer>,
  maxRecordBytes: number,
  delimiter: Delimiter,
  mapping: ColumnMapping | undefined,
  continueFrom: ReadImportRowsOptions['continueFrom'],
): AsyncGenerator<SourceRow[]> {
  let header: string[] | undefined;
  let fields: Array<PostColumn | undefined> = [];
  let rowNumber = continueFrom?.rowsBefore ?? 0;
  /** Blank lines before the text the current parser reads (counted by the parsers before it, or before the chunk). */
  let emptyBefore = continueFrom?.linesBefore ?? 0;
  let fatal: InvalidInput | undefined;
  let rows: SourceRow[] = [];
  let reread: { text: string; emptyBefore: number } | undefined;
  // The spreadsheet's line of the row just numbered: the header's line 1, the rows before, and the blank lines.
  const lineOf = (emptyLines: number) => 1 + rowNumber + emptyBefore + emptyLines;

  const options: Options<null, RawRecord> = {
    bom: true,
    raw: true,
    info: true,
    delimiter,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: maxRecordBytes,
    on_record: ({ record, raw, info }) => {
      if (!header) {
        const problem = mapping ? mappingProblem(record, mapping) : headerProblem(record);
        if (problem) fatal ??= new InvalidInput(`the header row cannot be imported: ${problem}`, 'file');
        header = record;
        fields = mappedFields(record, mapping);
      } else {
        rowNumber++;
        rows.push({ rowNumber, line: lineOf(info.empty_lines), raw: rawRow(raw), cells: record, value: csvRecordToRow(fields, record) });
      }
      return null;
    },
    on_skip: (error: CsvError | undefined, raw: string | undefined) => {
      const emptyLines = typeof error?.empty_lines === 'number' ? error.empty_lines : 0;
      if (error && header && RECOVERABLE_CSV_ERRORS.has(error.code)) {
        rowNumber++;
        const record = (error as CsvError & { record?: unknown[] }).record;
        const cells = Array.isArray(record) ? record.map(String) : undefined;
        const problem =
          error.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH'
            ? `the row has ${cells ? cells.length : 'a different number of'} fields, the header has ${header.length}`
            : error.message;
        rows.push({ rowNumber, line: lineOf(emptyLines), raw: rawRow(raw ?? ''), ...(cells ? { cells } : {}), problem });
      } else if (error?.code === 'CSV_QUOTE_NOT_CLOSED' && header) {
        rowNumber++;
        const text = (raw ?? '').replace(/^(?:\r?\n)+/, '');
        const end = text.indexOf('\n');
        rows.push({
          rowNumber,
          line: lineOf(emptyLines),
          raw: rawRow(end === -1 ? text : text.slice(0, end + 1)),
          problem: UNCLOSED_QUOTE,
        });
        if (end !== -1 && end + 1 < text.length) reread = { text: text.slice(end + 1), emptyBefore: emptyBefore + emptyLines };
      } else {
        const where = error?.lines !== undefined ? `line ${error.lines}: ` : '';
        const what =
          error?.code === 'CSV_MAX_RECORD_SIZE'
            ? `a row is longer than ${maxRecordBytes} characters (a quote that is never closed makes one row of the rest of the file)`
            : (error?.message ?? 'unreadable CSV');
        fatal ??= new InvalidInput(`${where}${what}; the rows after it cannot be delimited reliably`, 'file');
      }
      return undefined;
    },
  };
  const step = (feed: (done: (error?: Error | null) => void) => void) =>
    new Promise<void>((resolve, reject) => feed((error) => (error ? reject(error) : resolve())));
  const newParser = () => {
    // csv-parse types on_record's record generically only in its `columns` overloads; ours are arrays.
    const parser = parse(options as unknown as Options);
    parser.on('error', () => undefined); // reported through the write/end callbacks below
    parser.resume();
    return parser;
  };
  let parser = newParser();
  try {
    for await (const chunk of chunks) {
      await step((done) => parser.write(chunk, done));
      if (fatal) throw fatal;
      if (rows.length > 0) yield rows;
      rows = [];
    }
    await step((done) => parser.end(done));
    if (fatal) throw fatal;
    if (!header) throw new InvalidInput('the file has no header row', 'file');
    while (reread) {
      const { text } = reread;
      emptyBefore = reread.emptyBefore;
      reread = undefined;
      parser.destroy();
      parser = newParser();
      await step((done) => parser.end(text, done));
      if (fatal) throw fatal;
    }
    if (rows.length > 0) yield rows;
  } finally {
    parser.destroy();
  }
}

/**
 * The record as it was in the file, without the blank lines before it or its line ending. csv-parse's raw text of
 * a CRLF file's record keeps the CR of its own line ending, and starts with the CR of a blank line before it.
 */
const rawRow = (raw: string): string =>
  withoutLineEnding(raw.charCodeAt(0) === 0x0a || raw.charCodeAt(0) === 0x0d ? raw.replace(/^[\r\n]+/, '') : raw);

/** The row's cells by the field each column fills (mappedFields: a report's line and error columns fill none). */
function csvRecordToRow(fields: ReadonlyArray<PostColumn | undefined>, record: readonly string[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    const cell = record[i];
    if (field !== undefined) row[field] = cell === undefined ? undefined : restoreFormula(cell);
  }
  if (typeof row.tags === 'string') {
    row.tags = row.tags.trim() === '' ? [] : row.tags.split(TAG_SEPARATOR).map((tag) => tag.trim());
  }
  return row;
}

const withoutLineEnding = (raw: string): string => raw.replace(/\r?\n$|\r$/, '');

/** NDJSON rows, one array per input chunk; a line is held only up to maxRecordBytes. */
async function* ndjsonRows(
  chunks: AsyncIterable<Buffer>,
  maxRecordBytes: number,
  continueFrom: ReadImportRowsOptions['continueFrom'],
): AsyncGenerator<SourceRow[]> {
  let rowNumber = continueFrom?.rowsBefore ?? 0;
  let lineNumber = continueFrom?.linesBefore ?? 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  // Only the file's first line may start with a byte order mark.
  let first = continueFrom === undefined;

  const lineRow = (bytes: Buffer): SourceRow | undefined => {
    lineNumber++;
    let text = bytes.toString('utf8');
    if (first && text.startsWith('\uFEFF')) text = text.slice(1);
    first = false;
    text = text.replace(/\r$/, '');
    if (text.trim() === '') return undefined;
    rowNumber++;
    try {
      return { rowNumber, line: lineNumber, raw: text, value: JSON.parse(text) };
    } catch (error) {
      return { rowNumber, line: lineNumber, raw: text, problem: `not valid JSON: ${(error as Error).message}` };
    }
  };
  const overlongRow = (start: Buffer): SourceRow => {
    first = false;
    return {
      rowNumber: ++rowNumber,
      line: ++lineNumber,
      raw: `${start.toString('utf8', 0, Math.min(200, start.length))}…`,
      problem: `the line is longer than ${maxRecordBytes} bytes`,
    };
  };

  for await (const chunk of chunks) {
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
