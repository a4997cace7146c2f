import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { identifyFormat, identifyFormatOfSample, type FormatVerdict } from '../../core/import/format';

/**
 * The format check's whole verdict for each kind of file: the reason is what the user reads on the
 * import's status and in the rejection mail, so its words are asserted exactly.
 */

const verdictOf = (text: string | Buffer, truncated = false) =>
  identifyFormatOfSample(typeof text === 'string' ? Buffer.from(text) : text, { truncated });

const HEADER = 'id,userId,dateCreated,content,tags\n';
const ROW = 'p1,alice,2024-05-01T10:00:00Z,hello,a;b\n';
const CELLS = ['p1', 'alice', '2024-05-01T10:00:00Z', 'hello', 'a;b'];
const COLUMNS = ['id', 'userId', 'dateCreated', 'content', 'tags'];
const NOT_DELIMITED = 'not delimited text: its first rows have no consistent structure of fields for any of comma, semicolon, tab or pipe';

const csv = (fields: Partial<FormatVerdict>): FormatVerdict => ({
  format: 'csv',
  delimiter: ',',
  columns: COLUMNS,
  needsMapping: false,
  encoding: 'utf-8',
  reason: '',
  ...fields,
});

describe('the format verdict of CSV files', () => {
  it('counts the sampled rows and says they have the header’s width', async () => {
    await expect(verdictOf(HEADER + ROW + ROW)).resolves.toEqual(
      csv({ rows: [CELLS, CELLS], reason: 'UTF-8 text: comma-delimited, a header of 5 post columns and 2 sampled rows of the same width' }),
    );
    await expect(verdictOf(HEADER + ROW)).resolves.toEqual(
      csv({ rows: [CELLS], reason: 'UTF-8 text: comma-delimited, a header of 5 post columns and 1 sampled row of the same width' }),
    );
    await expect(verdictOf(HEADER)).resolves.toEqual(
      csv({ rows: [], reason: 'UTF-8 text: comma-delimited, a header of 5 post columns and 0 sampled rows of the same width' }),
    );
  });

  it('names each delimiter it reads', async () => {
    const columns = ['userId', 'dateCreated', 'content'];
    for (const [delimiter, label] of [
      [';', 'semicolon'],
      ['\t', 'tab'],
      ['|', 'pipe'],
    ] as const) {
      await expect(verdictOf(`userId${delimiter}dateCreated${delimiter}content\nalice${delimiter}2024${delimiter}hi\n`)).resolves.toEqual(
        csv({
          delimiter,
          columns,
          rows: [['alice', '2024', 'hi']],
          reason: `UTF-8 text: ${label}-delimited, a header of 3 post columns and 1 sampled row of the same width`,
        }),
      );
    }
  });

  it('names the encoding it read', async () => {
    const reason = (encoding: string) => `${encoding} text: comma-delimited, a header of 5 post columns and 1 sampled row of the same width`;
    await expect(verdictOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(HEADER + ROW)]))).resolves.toEqual(
      csv({ encoding: 'utf-8-bom', rows: [CELLS], reason: reason('UTF-8 with BOM') }),
    );
    await expect(verdictOf(iconv.encode(HEADER + ROW, 'utf-16le', { addBOM: true }))).resolves.toEqual(
      csv({ encoding: 'utf-16le', rows: [CELLS], reason: reason('UTF-16 LE') }),
    );
    await expect(verdictOf(iconv.encode(HEADER + ROW, 'utf-16be', { addBOM: true }))).resolves.toEqual(
      csv({ encoding: 'utf-16be', rows: [CELLS], reason: reason('UTF-16 BE') }),
    );
    await expect(verdictOf(iconv.encode('userId,dateCreated,content\nalice,2024,café\n', 'windows-1252'))).resolves.toEqual(
      csv({
        encoding: 'windows-1252',
        columns: ['userId', 'dateCreated', 'content'],
        rows: [['alice', '2024', 'café']],
        reason: 'Windows-1252 text: comma-delimited, a header of 3 post columns and 1 sampled row of the same width',
      }),
    );
  });

  it('accepts a few rows of another width (they are rejected row by row) and says how many', async () => {
    await expect(verdictOf(HEADER + ROW + 'a,b\n' + ROW.repeat(4))).resolves.toEqual(
      csv({
        rows: [CELLS, ['a', 'b'], CELLS, CELLS, CELLS, CELLS],
        reason: 'UTF-8 text: comma-delimited, a header of 5 post columns and 6 sampled rows, 1 of another width (rejected row by row)',
      }),
    );
    // 4 of 5 is exactly the share needed.
    await expect(verdictOf(HEADER + ROW + 'a,b\n' + ROW.repeat(3))).resolves.toMatchObject({
      format: 'csv',
      reason: 'UTF-8 text: comma-delimited, a header of 5 post columns and 5 sampled rows, 1 of another width (rejected row by row)',
    });
  });

  it('refuses rows that mostly disagree with the header, naming the first uneven row', async () => {
    await expect(verdictOf(HEADER + ROW + 'a,b\n' + 'a,b,c\n' + ROW)).resolves.toEqual({
      format: 'unknown',
      reason: "not CSV with a consistent column count: only 2 of 4 sampled rows have the header's 5 fields (data row 2 has 2 fields)",
    });
    // 3 of 4 is under the share needed.
    await expect(verdictOf(HEADER + ROW + ROW + 'a\n' + ROW)).resolves.toEqual({
      format: 'unknown',
      reason: "not CSV with a consistent column count: only 3 of 4 sampled rows have the header's 5 fields (data row 3 has 1 fields)",
    });
  });

  it('keeps the first 20 sampled rows for the preview', async () => {
    const verdict = await verdictOf(HEADER + ROW.repeat(25));
    expect(verdict).toEqual(
      csv({ rows: Array.from({ length: 20 }, () => CELLS), reason: 'UTF-8 text: comma-delimited, a header of 5 post columns and 25 sampled rows of the same width' }),
    );
  });

  it('asks for a column mapping when the header is consistent but not of post fields', async () => {
    await expect(verdictOf('name;when;text\nalice;2024;hi\nbob;2025;yo\n')).resolves.toEqual({
      format: 'csv',
      delimiter: ';',
      columns: ['name', 'when', 'text'],
      needsMapping: true,
      encoding: 'utf-8',
      rows: [
        ['alice', '2024', 'hi'],
        ['bob', '2025', 'yo'],
      ],
      reason:
        'UTF-8 text: semicolon-delimited, a header of 3 columns that are not all post fields (unknown column "name" (expected some of id, userId, dateCreated, content, tags)): the columns need mapping',
    });
    // Some post columns among others: a mapping can still import it.
    await expect(verdictOf('userId,when,text\nalice,2024,hi\n')).resolves.toMatchObject({ format: 'csv', needsMapping: true });
    // Two columns are as many as a post requires.
    await expect(verdictOf('when,text\n2024,hi\n')).resolves.toMatchObject({ format: 'csv', needsMapping: true, columns: ['when', 'text'] });
  });

  it('prefers the widest consistent reading when none is importable', async () => {
    // Read with commas it has 2 columns, with semicolons 3: the semicolons win.
    await expect(verdictOf('a,x;b;c\nd,y;e;f\n')).resolves.toMatchObject({ format: 'csv', delimiter: ';', columns: ['a,x', 'b', 'c'] });
    await expect(verdictOf('a;x,b,c\nd;y,e,f\n')).resolves.toMatchObject({ format: 'csv', delimiter: ',', columns: ['a;x', 'b', 'c'] });
  });

  it('refuses a header no mapping could import: post columns only, with a required one missing', async () => {
    await expect(verdictOf('userId,content\nalice,hi\n')).resolves.toEqual({
      format: 'unknown',
      reason: 'the header row is not one Ferry can import: missing column dateCreated',
    });
    // An error report's own columns count as known ones.
    await expect(verdictOf('userId,content,line,error\nalice,hi,2,bad\n')).resolves.toEqual({
      format: 'unknown',
      reason: 'the header row is not one Ferry can import: missing column dateCreated',
    });
  });

  it('refuses text that has no structure of fields', async () => {
    await expect(verdictOf('This is prose, written by hand.\nIt has no structure at all\nand, well, commas, here.\n')).resolves.toEqual({
      format: 'unknown',
      reason: NOT_DELIMITED,
    });
    await expect(verdictOf('hello\nworld\n')).resolves.toEqual({ format: 'unknown', reason: NOT_DELIMITED });
  });
});

describe('the format verdict of NDJSON files', () => {
  it('counts the sampled lines of JSON objects, blank lines left out', async () => {
    await expect(verdictOf('{"a":1}\n')).resolves.toEqual({
      format: 'ndjson',
      encoding: 'utf-8',
      reason: 'UTF-8 text: 1 sampled line each hold one JSON object',
    });
    await expect(verdictOf('  {"a":1}\n\n{"b":2}\n')).resolves.toEqual({
      format: 'ndjson',
      encoding: 'utf-8',
      reason: 'UTF-8 text: 2 sampled lines each hold one JSON object',
    });
  });

  it('names the line that is not JSON, or not an object', async () => {
    await expect(verdictOf('{"a":1}\n\n{oops\n')).resolves.toEqual({ format: 'unknown', reason: 'line 3 is not valid JSON, so this is not NDJSON' });
    for (const value of ['[1]', 'null', '5', '"text"']) {
      await expect(verdictOf(`{"a":1}\n${value}\n`)).resolves.toEqual({
        format: 'unknown',
        reason: 'line 2 is JSON but not an object, so this is not NDJSON',
      });
    }
  });
});

describe('the format verdict of files that are not text', () => {
  it('names the binary format a file starts with', async () => {
    const starts: Array<[number[], string]> = [
      [[0x50, 0x4b, 0x03, 0x04], 'ZIP archive (also xlsx, docx, odt, jar)'],
      [[0x50, 0x4b, 0x05, 0x06], 'ZIP archive (empty or spanned)'],
      [[0x50, 0x4b, 0x07, 0x08], 'ZIP archive (spanned)'],
      [[0x1f, 0x8b], 'gzip'],
      [[0x42, 0x5a, 0x68], 'bzip2'],
      [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
      [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'],
      [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], '7-Zip archive'],
      [[0x52, 0x61, 0x72, 0x21, 0x1a, 0x07], 'RAR archive'],
      [[0x25, 0x50, 0x44, 0x46, 0x2d], 'PDF document'],
      [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG image'],
      [[0xff, 0xd8, 0xff], 'JPEG image'],
      [[0x47, 0x49, 0x46, 0x38], 'GIF image'],
      [[0x52, 0x49, 0x46, 0x46], 'WebP/RIFF media'],
      [[0x7f, 0x45, 0x4c, 0x46], 'ELF executable'],
      [[0x4d, 0x5a], 'Windows executable (PE/MZ)'],
      [[0xcf, 0xfa, 0xed, 0xfe], 'Mach-O executable'],
      [[0xfe, 0xed, 0xfa, 0xcf], 'Mach-O executable'],
      [[0xca, 0xfe, 0xba, 0xbe], 'Java class / Mach-O universal binary'],
      [[0x00, 0x61, 0x73, 0x6d], 'WebAssembly module'],
      [[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 'OLE2 document (legacy xls, doc)'],
      [[...Buffer.from('SQLite format 3'), 0x00], 'SQLite database'],
      [[0x50, 0x41, 0x52, 0x31], 'Parquet file'],
      [[0xff, 0xfe, 0x00, 0x00], 'UTF-32 text; save as UTF-8 or UTF-16'],
    ];
    for (const [bytes, name] of starts) {
      await expect(verdictOf(Buffer.from([...bytes, 0x0a, 0x41])), name).resolves.toEqual({
        format: 'unknown',
        reason: `the file is a ${name}, not CSV or NDJSON`,
      });
    }
    const tar = Buffer.concat([Buffer.alloc(257, 0x41), Buffer.from('ustar'), Buffer.alloc(10, 0x41)]);
    await expect(verdictOf(tar)).resolves.toEqual({ format: 'unknown', reason: 'the file is a tar archive, not CSV or NDJSON' });
  });

  it('does not take a file shorter than a signature for that format', async () => {
    // "ustar" must be at byte 257: a short text file is not a tar archive.
    await expect(verdictOf(Buffer.from('ustar'))).resolves.toEqual({ format: 'unknown', reason: NOT_DELIMITED });
    // The first two bytes of a PNG signature, then a line end: read as text, not named a PNG image.
    await expect(verdictOf(Buffer.from([0x89, 0x50, 0x0a]))).resolves.toEqual({ format: 'unknown', reason: NOT_DELIMITED });
  });

  it('refuses NUL bytes, blank files and a UTF-8 byte order mark over other bytes', async () => {
    await expect(verdictOf('a,b\n\0\n')).resolves.toEqual({ format: 'unknown', reason: 'the file contains NUL bytes: it is binary, not text' });
    await expect(verdictOf('\n \n\t\n')).resolves.toEqual({ format: 'unknown', reason: 'the file holds no data, only blank lines' });
    await expect(verdictOf(Buffer.from([0xef, 0xbb, 0xbf, 0xff, 0xfe, 0x0a]))).resolves.toEqual({
      format: 'unknown',
      reason: 'the file starts with a UTF-8 byte order mark but is not UTF-8 text',
    });
  });
});

describe('a sample cut short', () => {
  it('decides from its complete lines only, in UTF-8 and in UTF-16', async () => {
    const reason = (encoding: string) => `${encoding} text: comma-delimited, a header of 5 post columns and 1 sampled row of the same width`;
    await expect(verdictOf(HEADER + ROW + 'p2,al', true)).resolves.toEqual(csv({ rows: [CELLS], reason: reason('UTF-8') }));
    await expect(verdictOf(iconv.encode(HEADER + ROW + 'p2,al', 'utf-16le', { addBOM: true }), true)).resolves.toEqual(
      csv({ encoding: 'utf-16le', rows: [CELLS], reason: reason('UTF-16 LE') }),
    );
  });

  it('refuses a sample without a line end', async () => {
    await expect(verdictOf('abcdef', true)).resolves.toEqual({ format: 'unknown', reason: 'no line ends within the first 6 bytes' });
    await expect(verdictOf(iconv.encode('abcdef', 'utf-16le', { addBOM: true }), true)).resolves.toEqual({
      format: 'unknown',
      reason: 'no line ends within the first 14 bytes',
    });
  });

  it('reads a whole small file however it is chunked, without calling it cut', async () => {
    const chunks = [HEADER, ROW.slice(0, 10), ROW.slice(10)].map((text) => Buffer.from(text));
    await expect(identifyFormat(Readable.from(chunks))).resolves.toEqual(
      csv({ rows: [CELLS], reason: 'UTF-8 text: comma-delimited, a header of 5 post columns and 1 sampled row of the same width' }),
    );
    // Not cut: the last line without its line end still counts.
    await expect(identifyFormat(Readable.from([Buffer.from(HEADER + ROW.trim())]))).resolves.toMatchObject({ rows: [CELLS] });
  });

  it('stops at the sample size once two lines have ended, and cuts the last line off', async () => {
    const chunks = [HEADER, ROW, ROW, 'p3,bob'].map((text) => Buffer.from(text));
    // The sample is complete after the first row: the reader stops there and calls it cut.
    await expect(identifyFormat(Readable.from(chunks), { sampleBytes: HEADER.length + ROW.length })).resolves.toEqual(
      csv({ rows: [CELLS], reason: 'UTF-8 text: comma-delimited, a header of 5 post columns and 1 sampled row of the same width' }),
    );
  });

  it('reads a small file whole by default, across chunks, whatever its first two lines say', async () => {
    // The rows after the first are mostly uneven: read whole, the file is refused; cut after two lines, it would pass.
    const chunks = [HEADER, ROW, 'a\n', 'b\n', 'c\n'].map((text) => Buffer.from(text));
    await expect(identifyFormat(Readable.from(chunks))).resolves.toEqual({
      format: 'unknown',
      reason: "not CSV with a consistent column count: only 1 of 4 sampled rows have the header's 5 fields (data row 2 has 1 fields)",
    });
  });

  it('takes string chunks as UTF-8 text', async () => {
    await expect(identifyFormat(Readable.from([HEADER, ROW], { objectMode: true }))).resolves.toMatchObject({ format: 'csv', rows: [CELLS] });
  });
});
