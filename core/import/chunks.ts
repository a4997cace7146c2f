import { Readable } from 'node:stream';
import type { ByteRange } from '../ports';
import type { TextEncoding } from './encoding';
import type { Delimiter } from './format';
import type { RowFormat } from './rows';
import { Utf8Validator } from './utf8';

/**
 * The chunk planner of a large import: the file as byte ranges that each start on a row, so "Import each chunk"
 * can read, validate and stage them side by side and the commit makes them searchable together.
 *
 * Where a row starts is known only from the start of the file (a quoted CSV field may hold newlines), so the planner
 * reads the whole file once, in ranged reads (in steps of at most IMPORT_PLAN_STEP_BYTES, one Lambda invocation each,
 * the scanners' whole state carried from one to the next: planChunksStep), with a byte-level copy of the reader's rules (csv-parse with
 * relax_quotes: a quote opens a field only at its start, `""` inside is one quote, the first line ending seen is the
 * record delimiter; NDJSON: one line, blank lines skipped). It also counts rows, physical lines and blank lines before
 * each boundary, so a chunk numbers its rows, lines and generated ids exactly as a one-piece read would.
 *
 * Boundaries fall after a row whose number is a multiple of `batchRows` (the import's batch, rows.ts), so every
 * chunk is made of whole batches of the one-piece read: a repeated id and its reason come out the same.
 *
 * Anything the byte-level copy cannot be sure of makes the file one chunk, read as today: UTF-16 (a newline is two
 * bytes), bytes that are not UTF-8 in a UTF-8 file, a quote never closed, mixed or bare-CR line endings, blank lines
 * before the CSV header, a record longer than the reader accepts, an NDJSON line that is blank only in Unicode terms.
 */

export interface ImportChunk {
  index: number;
  /** Byte range of the file [start, end): whole rows (CSV: the header is read apart, from [0, headerBytes)). */
  start: number;
  end: number;
  /** Data rows before the chunk (its first row is rowsBefore + 1). */
  rowsBefore: number;
  /** NDJSON: physical lines before the chunk. CSV: blank lines before it (the reader's spreadsheet line counts them). */
  linesBefore: number;
}

export interface ChunkPlan {
  chunks: ImportChunk[];
  /** CSV: the header record with its line ending (and a byte order mark), which every chunk after the first reads first. */
  headerBytes: number;
  /** Why the file is one chunk, when it had to be (absent when it is one chunk because it is small). */
  oneChunkBecause?: string;
}

export interface ChunkPlanOptions {
  format: RowFormat;
  encoding: TextEncoding;
  delimiter: Delimiter;
  size: number;
  /** About this many bytes per chunk (IMPORT_CHUNK_BYTES); a file this size or smaller is one chunk, not read. */
  chunkBytes: number;
  /** Boundaries fall after rows numbered by a multiple of this (the import's batch). */
  batchRows: number;
  /** The reader's longest record (rows.ts, 1 MiB): a longer one is an error the one-piece read reports. */
  maxRecordBytes: number;
  /** At most this many chunks (the Map's items travel in the execution state): larger chunks instead. */
  maxChunks: number;
  /** Bytes per ranged read of the scan. */
  readBytes?: number;
}

/** The whole file as one chunk. */
export const oneChunk = (size: number, because?: string): ChunkPlan => ({
  chunks: [{ index: 0, start: 0, end: size, rowsBefore: 0, linesBefore: 0 }],
  headerBytes: 0,
  ...(because ? { oneChunkBecause: because } : {}),
});

class Irregular extends Error {}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/**
 * Where a planning pass stopped between two steps (IMPORT_PLAN_STEP_BYTES): everything it needs to go on, as JSON
 * (it travels in the execution state). Its largest part is the chunks found so far, at most `maxChunks` (~100 B
 * each, the same list the plan itself carries to the Map): well inside the 256 KB state limit.
 */
export interface PlanProgress {
  /** Bytes of the file read so far; the next step reads from here. */
  offset: number;
  /** Base64 of the UTF-8 sequence the previous step ended inside (at most 3 bytes). */
  utf8Pending: string;
  scanner: ScannerState;
}

/** One step of a planning pass: the plan when the file was read to its end, else where to go on from. */
export type PlanStep = { plan: ChunkPlan } | { progress: PlanProgress };

/** Plans the chunks of a file of `options.size` bytes, reading it through `read` (ranged reads of the object). */
export async function planChunks(read: (range: ByteRange) => Promise<Readable>, options: ChunkPlanOptions): Promise<ChunkPlan> {
  const step = await planChunksStep(read, options, undefined, Number.POSITIVE_INFINITY);
  if (!('plan' in step)) throw new Error('a planning pass without a step limit ended before the file did');
  return step.plan;
}

/**
 * At most `stepBytes` more of the planning pass, from `progress` (undefined: the start of the file). The steps of
 * one pass, however many, give the plan of the pass in one piece: every bit of the scanners' state goes on.
 */
export async function planChunksStep(
  read: (range: ByteRange) => Promise<Readable>,
  options: ChunkPlanOptions,
  progress: PlanProgress | undefined,
  stepBytes: number,
): Promise<PlanStep> {
  const { size } = options;
  if (!(stepBytes >= 1)) throw new RangeError(`a planning step reads at least one byte (asked: ${stepBytes})`);
  if (size <= options.chunkBytes) return { plan: oneChunk(size) };
  if (options.encoding === 'utf-16le' || options.encoding === 'utf-16be')
    return { plan: oneChunk(size, 'a UTF-16 file is read in one piece') };
  const chunkBytes = Math.max(options.chunkBytes, Math.ceil(size / options.maxChunks));
  const scanner = options.format === 'csv' ? new CsvBoundaries(options, chunkBytes) : new NdjsonBoundaries(options, chunkBytes);
  if (progress) scanner.restore(progress.scanner);
  const utf8 =
    options.encoding === 'utf-8' || options.encoding === 'utf-8-bom'
      ? new Utf8Validator(() => new Irregular('bytes that are not UTF-8'), Buffer.from(progress?.utf8Pending ?? '', 'base64'))
      : undefined;
  const readBytes = options.readBytes ?? 16 * 1024 * 1024;
  const from = progress?.offset ?? 0;
  const to = Math.min(size, from + stepBytes);
  try {
    for (let start = from; start < to; start += readBytes) {
      for await (const piece of await read({ start, end: Math.min(to, start + readBytes) })) {
        const bytes = piece as Buffer;
        utf8?.check(bytes);
        scanner.scan(bytes);
      }
    }
    if (to < size) return { progress: { offset: to, utf8Pending: utf8?.pending.toString('base64') ?? '', scanner: scanner.save() } };
    utf8?.end();
    return { plan: scanner.finish(size) };
  } catch (error) {
    if (error instanceof Irregular) return { plan: oneChunk(size, error.message) };
    throw error;
  }
}

interface BoundariesState {
  offset: number;
  rows: number;
  chunks: ImportChunk[];
  chunkStart: number;
  chunkRowsBefore: number;
  chunkLinesBefore: number;
  bom: number;
}

export type ScannerState =
  | (BoundariesState & {
      kind: 'csv';
      quoting: boolean;
      quoteSeen: boolean;
      fieldStart: boolean;
      recordBytes: number;
      lineEnding: 'lf' | 'crlf' | null;
      crSeen: boolean;
      header: boolean;
      headerBytes: number;
      blankLines: number;
    })
  | (BoundariesState & { kind: 'ndjson'; lines: number; lineBytes: number; content: boolean; nonAscii: boolean });

/** What both scanners share: cutting after a row once the chunk is long enough and the row ends a batch. */
abstract class Boundaries {
  protected offset = 0;
  protected rows = 0;
  protected chunks: ImportChunk[] = [];
  protected chunkStart = 0;
  protected chunkRowsBefore = 0;
  protected chunkLinesBefore = 0;
  /** Bytes of a UTF-8 byte order mark still to skip at the start of the file. */
  protected bom: number;

  constructor(
    protected readonly options: ChunkPlanOptions,
    private readonly chunkBytes: number,
  ) {
    this.bom = options.encoding === 'utf-8-bom' ? 3 : 0;
  }

  abstract scan(bytes: Buffer): void;
  abstract finish(size: number): ChunkPlan;
  abstract save(): ScannerState;
  abstract restore(state: ScannerState): void;

  protected saveShared(): BoundariesState {
    const { offset, rows, chunkStart, chunkRowsBefore, chunkLinesBefore, bom } = this;
    return { offset, rows, chunks: this.chunks.map((chunk) => ({ ...chunk })), chunkStart, chunkRowsBefore, chunkLinesBefore, bom };
  }

  protected restoreShared(state: BoundariesState): void {
    ({
      offset: this.offset,
      rows: this.rows,
      chunkStart: this.chunkStart,
      chunkRowsBefore: this.chunkRowsBefore,
      chunkLinesBefore: this.chunkLinesBefore,
      bom: this.bom,
    } = state);
    this.chunks = state.chunks.map((chunk) => ({ ...chunk }));
  }

  /** A row just ended at `end` (after its line ending); `linesBefore` is what the next chunk would start with. */
  protected rowEnded(end: number, linesBefore: number): void {
    if (this.rows % this.options.batchRows !== 0 || end - this.chunkStart < this.chunkBytes) return;
    this.chunks.push({
      index: this.chunks.length,
      start: this.chunkStart,
      end,
      rowsBefore: this.chunkRowsBefore,
      linesBefore: this.chunkLinesBefore,
    });
    this.chunkStart = end;
    this.chunkRowsBefore = this.rows;
    this.chunkLinesBefore = linesBefore;
  }

  protected planOf(size: number, headerBytes: number): ChunkPlan {
    const last = {
      index: this.chunks.length,
      start: this.chunkStart,
      end: size,
      rowsBefore: this.chunkRowsBefore,
      linesBefore: this.chunkLinesBefore,
    };
    // A last chunk with nothing in it (the file ended on a boundary) is folded into the one before.
    const chunks =
      last.start < size || this.chunks.length === 0
        ? [...this.chunks, last]
        : this.chunks.map((chunk, i, all) => (i === all.length - 1 ? { ...chunk, end: size } : chunk));
    if (chunks.length === 1) return oneChunk(size, 'no row boundary fell where a chunk could end');
    return { chunks, headerBytes };
  }
}

/** csv-parse's record boundaries, byte by byte (see the file comment for the rules copied). */
class CsvBoundaries extends Boundaries {
  private readonly delimiter: number;
  private quoting = false;
  /** A quote just seen inside a quoted field: the next byte says whether it was `""` or the closing quote. */
  private quoteSeen = false;
  private fieldStart = true;
  private recordBytes = 0;
  private lineEnding: 'lf' | 'crlf' | undefined = undefined;
  private crSeen = false;
  private header = false;
  private headerBytes = 0;
  private blankLines = 0;

  constructor(options: ChunkPlanOptions, chunkBytes: number) {
    super(options, chunkBytes);
    this.delimiter = options.delimiter.charCodeAt(0);
  }

  save(): ScannerState {
    const { quoting, quoteSeen, fieldStart, recordBytes, crSeen, header, headerBytes, blankLines } = this;
    return {
      kind: 'csv',
      ...this.saveShared(),
      quoting,
      quoteSeen,
      fieldStart,
      recordBytes,
      lineEnding: this.lineEnding ?? null,
      crSeen,
      header,
      headerBytes,
      blankLines,
    };
  }

  restore(state: ScannerState): void {
    if (state.kind !== 'csv') throw new Error('a CSV plan cannot go on from an NDJSON one');
    this.restoreShared(state);
    ({
      quoting: this.quoting,
      quoteSeen: this.quoteSeen,
      fieldStart: this.fieldStart,
      recordBytes: this.recordBytes,
      crSeen: this.crSeen,
      header: this.header,
      headerBytes: this.headerBytes,
      blankLines: this.blankLines,
    } = state);
    this.lineEnding = state.lineEnding ?? undefined;
  }

  scan(bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++, this.offset++) {
      if (this.bom > 0) {
        this.bom--;
        continue;
      }
      const byte = bytes[i] as number;
      if (this.crSeen) {
        this.crSeen = false;
        if (byte !== LF) throw new Irregular('a carriage return that does not end a line');
        this.lineEnded('crlf');
        continue;
      }
      if (this.quoteSeen) {
        this.quoteSeen = false;
        if (byte === QUOTE) continue; // `""`: one quote, still inside the field
        this.quoting = false;
      }
      if (this.quoting) {
        if (byte === QUOTE) this.quoteSeen = true;
        this.grow();
        continue;
      }
      if (byte === LF) this.lineEnded('lf');
      else if (byte === CR) this.crSeen = true;
      else {
        if (byte === QUOTE && this.fieldStart) this.quoting = true;
        this.fieldStart = byte === this.delimiter;
        this.grow();
      }
    }
  }

  private grow(): void {
    if (++this.recordBytes > this.options.maxRecordBytes) throw new Irregular('a record longer than the reader accepts');
  }

  private lineEnded(ending: 'lf' | 'crlf'): void {
    this.lineEnding ??= ending;
    if (ending !== this.lineEnding) throw new Irregular('lines that end in two ways');
    const end = this.offset + 1;
    const empty = this.recordBytes === 0;
    this.recordBytes = 0;
    this.fieldStart = true;
    if (!this.header) {
      if (empty) throw new Irregular('blank lines before the header');
      this.header = true;
      this.headerBytes = end;
      this.chunkStart = end;
      return;
    }
    if (empty) {
      this.blankLines++;
      return;
    }
    this.rows++;
    this.rowEnded(end, this.blankLines);
  }

  finish(size: number): ChunkPlan {
    if (this.quoting) throw new Irregular('a quote that is never closed');
    if (this.crSeen) this.lineEnded('crlf');
    if (!this.header) throw new Irregular('no header row');
    const plan = this.planOf(size, this.headerBytes);
    // The first chunk reads its own header: it starts at the file's first byte.
    return plan.chunks.length > 1
      ? { ...plan, chunks: plan.chunks.map((chunk) => (chunk.index === 0 ? { ...chunk, start: 0 } : chunk)) }
      : plan;
  }
}

/** NDJSON's line boundaries: every line is one physical line; a blank one (only whitespace) is not a row. */
class NdjsonBoundaries extends Boundaries {
  private lines = 0;
  private lineBytes = 0;
  private content = false;
  private nonAscii = false;

  save(): ScannerState {
    const { lines, lineBytes, content, nonAscii } = this;
    return { kind: 'ndjson', ...this.saveShared(), lines, lineBytes, content, nonAscii };
  }

  restore(state: ScannerState): void {
    if (state.kind !== 'ndjson') throw new Error('an NDJSON plan cannot go on from a CSV one');
    this.restoreShared(state);
    ({ lines: this.lines, lineBytes: this.lineBytes, content: this.content, nonAscii: this.nonAscii } = state);
  }

  scan(bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++, this.offset++) {
      if (this.bom > 0) {
        this.bom--;
        continue;
      }
      const byte = bytes[i] as number;
      if (byte === LF) {
        this.lineEnded();
        continue;
      }
      // The reader cuts an over-long line short and reads it as a row even when it is blank.
      if (++this.lineBytes > this.options.maxRecordBytes) throw new Irregular('a line longer than the reader accepts');
      if (byte >= 0x80) this.nonAscii = true;
      else if (byte !== 0x20 && (byte < 0x09 || byte > 0x0d)) this.content = true;
    }
  }

  private lineEnded(): void {
    this.lines++;
    // String.prototype.trim also strips Unicode spaces: a line of those alone is not judged byte by byte.
    if (!this.content && this.nonAscii) throw new Irregular('a line of non-ASCII characters only');
    const row = this.content;
    this.lineBytes = 0;
    this.content = false;
    this.nonAscii = false;
    if (!row) return;
    this.rows++;
    this.rowEnded(this.offset + 1, this.lines);
  }

  finish(size: number): ChunkPlan {
    if (!this.content && this.nonAscii) throw new Irregular('a line of non-ASCII characters only');
    return this.planOf(size, 0);
  }
}

/** A chunk's bytes as its reader wants them: a CSV chunk after the first starts with the file's header record. */
export function chunkStream(read: (range: ByteRange) => Promise<Readable>, chunk: ImportChunk, headerBytes: number): Readable {
  const ranges = chunk.index > 0 && headerBytes > 0 ? [{ start: 0, end: headerBytes }, chunk] : [chunk];
  return Readable.from(
    (async function* () {
      for (const { start, end } of ranges) yield* await read({ start, end });
    })(),
  );
}
