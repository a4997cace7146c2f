import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { identifyFormat, identifyFormatOfSample } from '../../core/import/format';

const of = (text: string | Buffer) => identifyFormat(Readable.from([typeof text === 'string' ? Buffer.from(text) : text]));
const HEADER = 'id,userId,dateCreated,content,tags\n';
const ROW = 'p1,alice,2024-05-01T10:00:00Z,"Hello, world",a;b\n';
const NDJSON_ROW = '{"userId":"alice","dateCreated":"2024-05-01T10:00:00Z","content":"hi","tags":[]}\n';

describe('identifying an upload’s format from its content', () => {
  it('a header of post columns with rows of the same width is CSV', async () => {
    await expect(of(HEADER + ROW + ROW)).resolves.toMatchObject({ format: 'csv' });
  });

  it('CSV may leave out id and tags, and may order columns freely', async () => {
    await expect(of('content,userId,dateCreated\nhi,alice,2024-05-01T10:00:00Z\n')).resolves.toMatchObject({ format: 'csv' });
  });

  it('a UTF-8 byte order mark is tolerated', async () => {
    await expect(of(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(HEADER + ROW)]))).resolves.toMatchObject({ format: 'csv' });
    await expect(of(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(NDJSON_ROW)]))).resolves.toMatchObject({
      format: 'ndjson',
    });
  });

  it('CRLF line endings and quoted fields spanning lines are still CSV', async () => {
    const text = 'userId,dateCreated,content\r\nalice,2024-05-01T10:00:00Z,"line one\r\nline two"\r\n';
    await expect(of(text)).resolves.toMatchObject({ format: 'csv' });
  });

  it('lines that each hold a JSON object are NDJSON, blank lines allowed', async () => {
    await expect(of(NDJSON_ROW + '\n' + NDJSON_ROW)).resolves.toMatchObject({ format: 'ndjson' });
  });

  it('NDJSON is decided by structure, not fields: a valid object with wrong fields is still NDJSON (rows reject it later)', async () => {
    await expect(of('{"foo":1}\n')).resolves.toMatchObject({ format: 'ndjson' });
  });

  it('a JSON line that is not an object, or not JSON, makes it not NDJSON', async () => {
    await expect(of(NDJSON_ROW + '[1,2]\n')).resolves.toEqual({
      format: 'unknown',
      reason: expect.stringContaining('line 2 is JSON but not an object'),
    });
    await expect(of(NDJSON_ROW + '{"broken":\n')).resolves.toEqual({
      format: 'unknown',
      reason: expect.stringContaining('line 2 is not valid JSON'),
    });
  });

  it('pretty-printed JSON is not NDJSON', async () => {
    await expect(of('{\n  "userId": "alice"\n}\n')).resolves.toMatchObject({ format: 'unknown' });
  });

  it('a CSV whose rows change width is not CSV', async () => {
    await expect(of(HEADER + ROW + 'p2,bob\n')).resolves.toEqual({
      format: 'unknown',
      reason: expect.stringContaining('data row 2 has 2 fields'),
    });
  });

  it('a CSV header without the post columns is not importable, and the reason says which are missing', async () => {
    await expect(of('userId,content\nalice,hi\n')).resolves.toEqual({
      format: 'unknown',
      reason: expect.stringContaining('missing column dateCreated'),
    });
    // Other columns, as many as a post's required fields: the user maps them (NEEDS_MAPPING) rather than being refused.
    await expect(of('name,age\nAda,36\n')).resolves.toMatchObject({
      format: 'csv',
      needsMapping: true,
      reason: expect.stringContaining('unknown column "name"'),
    });
  });

  it('plain prose is not CSV', async () => {
    await expect(of('Dear team,\nplease find attached.\n')).resolves.toMatchObject({ format: 'unknown' });
  });

  it.each([
    ['ZIP (xlsx)', [0x50, 0x4b, 0x03, 0x04], 'ZIP'],
    ['gzip', [0x1f, 0x8b, 0x08, 0x00], 'gzip'],
    ['PDF', [...Buffer.from('%PDF-1.7\n')], 'PDF'],
    ['PNG', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG'],
    ['JPEG', [0xff, 0xd8, 0xff, 0xe0], 'JPEG'],
    ['ELF', [0x7f, 0x45, 0x4c, 0x46, 0x02], 'ELF'],
    ['PE/MZ', [0x4d, 0x5a, 0x90, 0x00], 'PE/MZ'],
    ['legacy xls', [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 'OLE2'],
    ['UTF-32', [0xff, 0xfe, 0x00, 0x00], 'UTF-32'],
  ])('a %s file is recognized by its magic bytes and refused', async (_name, magic, named) => {
    const verdict = await of(Buffer.concat([Buffer.from(magic), Buffer.from(HEADER + ROW)]));
    expect(verdict.format).toBe('unknown');
    expect(verdict.reason).toContain(named);
  });

  it('a file named .csv with binary content is not CSV (the name is never consulted)', async () => {
    await expect(of(Buffer.from([0x00, 0x01, 0x02, 0x03, 0x0a]))).resolves.toEqual({
      format: 'unknown',
      reason: expect.stringContaining('NUL'),
    });
  });

  it('text that is not UTF-8 is read as Windows-1252, and says so', async () => {
    await expect(
      of(Buffer.concat([Buffer.from('userId,dateCreated,content\nJos'), Buffer.from([0xe9]), Buffer.from(',2024-05-01T10:00:00Z,hi\n')])),
    ).resolves.toMatchObject({ format: 'csv', encoding: 'windows-1252', reason: expect.stringMatching(/^Windows-1252 text: /) });
  });

  it('a file with a UTF-8 byte order mark that is not UTF-8 is refused', async () => {
    await expect(
      of(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(HEADER), Buffer.from([0xe9, 0x0a])])),
    ).resolves.toMatchObject({
      format: 'unknown',
      reason: expect.stringContaining('byte order mark'),
    });
  });

  it('reports the encoding: UTF-8, UTF-8 with BOM, UTF-16 LE and BE with their BOM', async () => {
    const text = HEADER + 'p1,zoë,2024-05-01T10:00:00Z,"naïve, ""quoted""",a;b\n';
    const cases: Array<[Buffer, string]> = [
      [Buffer.from(text), 'utf-8'],
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), 'utf-8-bom'],
      [iconv.encode(text, 'utf-16le', { addBOM: true }), 'utf-16le'],
      [iconv.encode(text, 'utf-16be', { addBOM: true }), 'utf-16be'],
    ];
    for (const [bytes, encoding] of cases) {
      await expect(of(bytes), encoding).resolves.toMatchObject({
        format: 'csv',
        encoding,
        delimiter: ',',
        columns: HEADER.trim().split(','),
      });
    }
    await expect(of(iconv.encode(NDJSON_ROW, 'utf-16le', { addBOM: true }))).resolves.toMatchObject({
      format: 'ndjson',
      encoding: 'utf-16le',
    });
  });

  it('a UTF-16 sample cut anywhere (even inside a character) still decides from the complete lines', async () => {
    const bytes = iconv.encode(HEADER + ROW.repeat(3), 'utf-16le', { addBOM: true });
    for (const cut of [bytes.length - 1, bytes.length - 5, bytes.length - 20]) {
      await expect(identifyFormatOfSample(bytes.subarray(0, cut), { truncated: true }), `cut at ${cut}`).resolves.toMatchObject({
        format: 'csv',
        encoding: 'utf-16le',
      });
    }
  });

  it.each([
    ['semicolon', ';'],
    ['tab', '\t'],
    ['pipe', '|'],
    ['comma', ','],
  ])('detects a %s delimiter, even when the content holds other delimiters', async (name, delimiter) => {
    const rows = [
      ['id', 'userId', 'dateCreated', 'content', 'tags'],
      ['p1', 'alice', '2024-05-01T10:00:00Z', '"Hello, world; a|b\tc"', '"a;b"'],
      ['p2', 'bob', '2024-05-01T10:00:00Z', 'plain', 'x'],
    ];
    const verdict = await of(rows.map((cells) => cells.join(delimiter)).join('\r\n') + '\r\n');
    expect(verdict).toMatchObject({ format: 'csv', delimiter, columns: rows[0] });
    expect(verdict.reason).toContain(`${name}-delimited`);
  });

  it('a quote inside an unquoted field, as Excel and Python read it, is still CSV', async () => {
    await expect(of(HEADER + 'p1,alice,2024-05-01T10:00:00Z,5" floppy,a\n' + ROW)).resolves.toMatchObject({ format: 'csv' });
    await expect(of(HEADER + 'p1,alice,2024-05-01T10:00:00Z,"a"b,a\n' + ROW)).resolves.toMatchObject({ format: 'csv' });
  });

  it('a few rows of another width, or a quote never closed, do not reject the file: those rows are rejected one by one', async () => {
    const uneven = HEADER + ROW.repeat(9) + 'p2,bob\n';
    await expect(of(uneven)).resolves.toMatchObject({ format: 'csv', reason: expect.stringContaining('1 of another width') });
    await expect(of(HEADER + ROW.repeat(5) + 'p3,alice,2024-05-01T10:00:00Z,"never closed,a\n' + ROW)).resolves.toMatchObject({
      format: 'csv',
    });
  });

  it('rows that mostly disagree with the header are not delimited text', async () => {
    await expect(of(HEADER + ROW + 'a,b\nc,d\nfoo\n')).resolves.toMatchObject({
      format: 'unknown',
      reason: expect.stringContaining('consistent column count'),
    });
  });

  it('an empty file, or only blank lines, is refused', async () => {
    await expect(of('')).resolves.toEqual({ format: 'unknown', reason: 'the file is empty' });
    await expect(of('\n\n  \n')).resolves.toMatchObject({ format: 'unknown' });
  });

  it('reads only a bounded prefix of a huge object and stops the stream', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1;
        this.push(Buffer.from(ROW.repeat(1000)));
      },
    });
    endless.push(HEADER);
    const verdict = await identifyFormat(endless, { sampleBytes: 64 * 1024 });
    expect(verdict.format).toBe('csv');
    expect(produced * ROW.length * 1000).toBeLessThan(1024 * 1024);
    expect(endless.destroyed).toBe(true);
  });

  it('a sample cut in the middle of a line, a multi-byte character or a quoted field still decides from the complete lines', async () => {
    const text = HEADER + ROW.repeat(3) + 'p9,alice,2024-05-01T10:00:00Z,"déjà\nvu';
    for (let cut = HEADER.length + ROW.length * 3 + 1; cut <= Buffer.byteLength(text); cut++) {
      const verdict = await identifyFormatOfSample(Buffer.from(text).subarray(0, cut), { truncated: true });
      expect(verdict.format, `cut at ${cut}`).toBe('csv');
    }
  });

  it('reads past the sample size until a record is complete, up to a hard cap where the header alone decides', async () => {
    const text = `userId,dateCreated,content\nalice,2024-05-01T10:00:00Z,${'x'.repeat(100_000)}\n`;
    await expect(identifyFormat(Readable.from([Buffer.from(text)]), { sampleBytes: 1024 })).resolves.toMatchObject({
      format: 'csv',
      reason: expect.stringContaining('and 1 sampled row'),
    });
    await expect(identifyFormat(Readable.from([Buffer.from(text)]), { sampleBytes: 1024, maxSampleBytes: 4096 })).resolves.toMatchObject({
      format: 'csv',
      reason: expect.stringContaining('and 0 sampled rows'),
    });
  });
});
