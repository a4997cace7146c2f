import type { Readable } from 'node:stream';
import { POST_COLUMNS } from '../model';
import { parse } from 'csv-parse';
import type { ImportDelimiter } from '../contract';
import { headerProblem, isReportColumn, REQUIRED_IMPORT_COLUMNS } from './columns';
import { byteOrderMark, decodeSample, detectEncoding, ENCODING_LABEL, type TextEncoding } from './encoding';
import { PREVIEW_ROWS } from './mapping';
import { incompleteUtf8Tail } from './utf8';

export type ImportFormat = 'csv' | 'ndjson' | 'unknown';

/** The field delimiters a CSV file may use, in the order a tie is broken. */
export const DELIMITERS = [',', ';', '\t', '|'] as const satisfies readonly ImportDelimiter[];
export type Delimiter = ImportDelimiter;

export const DELIMITER_LABEL: Record<Delimiter, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' };

/**
 * The format check's verdict; `reason` says why, in words a user can act on. A file that is text says its
 * `encoding`; a CSV file also its `delimiter` and header `columns`, which the row reader and the error report use.
 */
export interface FormatVerdict {
  format: ImportFormat;
  reason: string;
  encoding?: TextEncoding;
  delimiter?: Delimiter;
  columns?: string[];
  /** CSV: the header does not map onto post fields by itself, so the import waits for a column mapping. */
  needsMapping?: boolean;
  /** needsMapping: how long "Wait for column mapping" waits (the import's config, passed on for the ASL's TimeoutSecondsPath). */
  mappingTimeoutSeconds?: number;
  /** CSV: the first sampled data rows (for the preview; not passed on in the workflow's state). */
  rows?: string[][];
}

/** Share of the sampled data rows that must have the header's width for the file to count as delimited text. */
const CONSISTENT_SHARE = 0.8;

export interface IdentifyFormatOptions {
  /** How much to sample. Default 64 KiB. */
  sampleBytes?: number;
  /** When the sample holds fewer than two complete lines (one long record), read on up to this. Default 1 MiB. */
  maxSampleBytes?: number;
}

const KiB = 1024;

/** File signatures of common binary formats: a file starting with one of these is never imported. */
const MAGIC: ReadonlyArray<{ name: string; bytes: readonly number[]; at?: number }> = [
  { name: 'ZIP archive (also xlsx, docx, odt, jar)', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { name: 'ZIP archive (empty or spanned)', bytes: [0x50, 0x4b, 0x05, 0x06] },
  { name: 'ZIP archive (spanned)', bytes: [0x50, 0x4b, 0x07, 0x08] },
  { name: 'gzip', bytes: [0x1f, 0x8b] },
  { name: 'bzip2', bytes: [0x42, 0x5a, 0x68] },
  { name: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { name: '7-Zip archive', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { name: 'RAR archive', bytes: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07] },
  { name: 'tar archive', bytes: [0x75, 0x73, 0x74, 0x61, 0x72], at: 257 },
  { name: 'PDF document', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { name: 'PNG image', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { name: 'JPEG image', bytes: [0xff, 0xd8, 0xff] },
  { name: 'GIF image', bytes: [0x47, 0x49, 0x46, 0x38] },
  { name: 'WebP/RIFF media', bytes: [0x52, 0x49, 0x46, 0x46] },
  { name: 'ELF executable', bytes: [0x7f, 0x45, 0x4c, 0x46] },
  { name: 'Windows executable (PE/MZ)', bytes: [0x4d, 0x5a] },
  { name: 'Mach-O executable', bytes: [0xcf, 0xfa, 0xed, 0xfe] },
  { name: 'Mach-O executable', bytes: [0xfe, 0xed, 0xfa, 0xcf] },
  { name: 'Java class / Mach-O universal binary', bytes: [0xca, 0xfe, 0xba, 0xbe] },
  { name: 'WebAssembly module', bytes: [0x00, 0x61, 0x73, 0x6d] },
  { name: 'OLE2 document (legacy xls, doc)', bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1] },
  { name: 'SQLite database', bytes: [0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x20, 0x33, 0x00] },
  { name: 'Parquet file', bytes: [0x50, 0x41, 0x52, 0x31] },
  { name: 'UTF-32 text; save as UTF-8 or UTF-16', bytes: [0xff, 0xfe, 0x00, 0x00] },
];

const startsWith = (sample: Uint8Array, bytes: readonly number[], at = 0): boolean =>
  sample.length >= at + bytes.length && bytes.every((byte, i) => sample[at + i] === byte);

/**
 * Identifies an upload as CSV, NDJSON or something else from its first bytes and their structure,
 * never from its name or claimed content type. Reads a bounded prefix (see options), then destroys
 * the stream so the rest is never downloaded; memory stays bounded whatever the object's size.
 */
export async function identifyFormat(stream: Readable, options: IdentifyFormatOptions = {}): Promise<FormatVerdict> {
  const sampleBytes = options.sampleBytes ?? 64 * KiB;
  const maxSampleBytes = Math.max(sampleBytes, options.maxSampleBytes ?? 1024 * KiB);
  const chunks: Buffer[] = [];
  let length = 0;
  let newlines = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      chunks.push(bytes);
      length += bytes.length;
      for (let at = bytes.indexOf(0x0a); at !== -1 && newlines < 2; at = bytes.indexOf(0x0a, at + 1)) newlines++;
      if (length >= maxSampleBytes || (length >= sampleBytes && newlines >= 2)) {
        truncated = true;
        break;
      }
    }
  } finally {
    stream.destroy();
  }
  const sample = Buffer.concat(chunks, length);
  return identifyFormatOfSample(truncated ? sample.subarray(0, maxSampleBytes) : sample, { truncated });
}

/**
 * The same verdict for a prefix already in memory. `truncated` says the object goes on after `sample`,
 * so its last, possibly cut, line is left out of the structure check.
 */
export async function identifyFormatOfSample(sample: Uint8Array, { truncated }: { truncated: boolean }): Promise<FormatVerdict> {
  if (sample.length === 0) return unknown('the file is empty');
  for (const magic of MAGIC) {
    if (startsWith(sample, magic.bytes, magic.at)) return unknown(`the file is a ${magic.name}, not CSV or NDJSON`);
  }
  const encoding = detectEncoding(sample, { truncated });
  const decoded = decodeText(sample, encoding, truncated);
  if (typeof decoded !== 'string') return decoded;
  const text = decoded;
  if (text.includes('\0')) return unknown('the file contains NUL bytes: it is binary, not text');
  if (text.trim() === '') return unknown('the file holds no data, only blank lines');
  const verdict = text.trimStart().startsWith('{') ? checkNdjson(text) : await checkCsv(text);
  return verdict.format === 'unknown' ? verdict : { ...verdict, encoding, reason: `${ENCODING_LABEL[encoding]} text: ${verdict.reason}` };
}

/** The sample as text, its last (possibly cut) line left out when `truncated`; or the verdict when it is not text. */
function decodeText(sample: Uint8Array, encoding: TextEncoding, truncated: boolean): string | FormatVerdict {
  const bom = byteOrderMark(sample);
  if (encoding === 'utf-8' || encoding === 'utf-8-bom') {
    let bytes = sample.subarray(bom?.length ?? 0);
    if (truncated) {
      const lastNewline = bytes.lastIndexOf(0x0a);
      if (lastNewline === -1) return unknown(`no line ends within the first ${sample.length} bytes`);
      bytes = bytes.subarray(0, lastNewline + 1);
    } else {
      bytes = bytes.subarray(0, bytes.length - incompleteUtf8Tail(bytes));
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return unknown('the file starts with a UTF-8 byte order mark but is not UTF-8 text');
    }
  }
  const text = decodeSample(sample, encoding);
  if (!truncated) return text;
  const lastNewline = text.lastIndexOf('\n');
  if (lastNewline === -1) return unknown(`no line ends within the first ${sample.length} bytes`);
  return text.slice(0, lastNewline + 1);
}

function checkNdjson(text: string): FormatVerdict {
  let lineNumber = 0;
  let records = 0;
  for (const line of text.split('\n')) {
    lineNumber++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return unknown(`line ${lineNumber} is not valid JSON, so this is not NDJSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return unknown(`line ${lineNumber} is JSON but not an object, so this is not NDJSON`);
    }
    records++;
  }
  return { format: 'ndjson', reason: `${records} sampled line${records === 1 ? '' : 's'} each hold one JSON object` };
}

/** The sample read with one candidate delimiter. */
interface SampleReading {
  delimiter: Delimiter;
  header?: string[];
  rows: string[][];
  failure?: string;
}

async function readSample(text: string, delimiter: Delimiter): Promise<SampleReading> {
  const records: string[][] = [];
  let failure: { code?: string; message: string } | undefined;
  // Collected as parsed: records still buffered in the stream would be lost when the cut sample errors at its end.
  const parser = parse({
    delimiter,
    relax_quotes: true,
    skip_empty_lines: true,
    relax_column_count: true,
    on_record: (record: string[]) => {
      records.push(record);
      return null;
    },
  });
  await new Promise<void>((resolve) => {
    parser.once('error', (error: Error & { code?: string }) => {
      failure = error;
      resolve();
    });
    parser.once('end', resolve);
    parser.resume();
    parser.end(text);
  });
  const [header, ...rows] = records;
  // A quote never closed swallows the rest of the sample: the rows before it still show the structure, and
  // the row reader rejects that row alone. Any other error means this delimiter does not read the file.
  const fatal = failure && failure.code !== 'CSV_QUOTE_NOT_CLOSED' ? `not CSV: ${failure.message}` : undefined;
  return { delimiter, ...(header ? { header } : {}), rows, ...(fatal ? { failure: fatal } : {}) };
}

/** How many sampled rows have the header's width. */
const evenRows = (reading: SampleReading): number => reading.rows.filter((row) => row.length === reading.header?.length).length;

const isConsistent = (reading: SampleReading): boolean =>
  reading.header !== undefined && evenRows(reading) >= CONSISTENT_SHARE * reading.rows.length;

/**
 * CSV when, for one of the delimiters, the first record is a header of post columns and (nearly) every sampled
 * row has its width; a few uneven rows are rejected row by row later, not the file.
 */
async function checkCsv(text: string): Promise<FormatVerdict> {
  const readings = (await Promise.all(DELIMITERS.map((delimiter) => readSample(text, delimiter)))).filter((r) => !r.failure);
  const importable = readings.find((reading) => reading.header && !headerProblem(reading.header));
  if (importable?.header) {
    const { header, rows, delimiter } = importable;
    const even = evenRows(importable);
    if (!isConsistent(importable)) {
      const uneven = rows.findIndex((row) => row.length !== header.length);
      return unknown(
        `not CSV with a consistent column count: only ${even} of ${rows.length} sampled rows have the header's ${header.length} fields (data row ${uneven + 1} has ${rows[uneven]?.length} fields)`,
      );
    }
    const others = rows.length - even;
    return {
      format: 'csv',
      delimiter,
      columns: header,
      needsMapping: false,
      rows: rows.slice(0, PREVIEW_ROWS),
      reason:
        `${DELIMITER_LABEL[delimiter]}-delimited, a header of ${header.length} post columns and ${rows.length} sampled row${rows.length === 1 ? '' : 's'}` +
        (others === 0 ? ' of the same width' : `, ${others} of another width (rejected row by row)`),
    };
  }
  // No delimiter gives an importable header: say what the best-structured reading found.
  const structured = readings
    .filter((reading) => (reading.header?.length ?? 0) >= 2 && isConsistent(reading))
    .sort((a, b) => (b.header?.length ?? 0) - (a.header?.length ?? 0))[0];
  if (structured?.header) {
    const { header, rows, delimiter } = structured;
    // Fewer columns than a post's required fields, or post columns only but a required one missing: no mapping
    // could import it (it would have to read one field's column as another's).
    const onlyPostColumns = header.every((column) => (POST_COLUMNS as readonly string[]).includes(column) || isReportColumn(column));
    if (header.length < REQUIRED_IMPORT_COLUMNS.length || onlyPostColumns) {
      return unknown(`the header row is not one Ferry can import: ${headerProblem(header)}`);
    }
    return {
      format: 'csv',
      delimiter,
      columns: header,
      needsMapping: true,
      rows: rows.slice(0, PREVIEW_ROWS),
      reason: `${DELIMITER_LABEL[delimiter]}-delimited, a header of ${header.length} columns that are not all post fields (${headerProblem(header)}): the columns need mapping`,
    };
  }
  const comma = readings.find((reading) => reading.delimiter === ',');
  if (!comma) return unknown('not CSV: no delimiter reads it as rows of fields');
  if (!comma.header) return unknown('not CSV: no header row');
  return unknown('not delimited text: its first rows have no consistent structure of fields for any of comma, semicolon, tab or pipe');
}

const unknown = (reason: string): FormatVerdict => ({ format: 'unknown', reason });
