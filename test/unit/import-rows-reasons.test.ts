import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../core/errors';
import { readImportRows, type ImportBatch, type ReadImportRowsOptions } from '../../core/import/rows';

/**
 * Why each row is rejected, and why a file stops being read, in the exact words the user reads in the
 * status, the mail and the error report.
 */

const AT = '2024-05-01T10:00:00Z';
const HEADER = 'userId,dateCreated,content\n';

async function read(content: string | Buffer | Readable, options: Partial<ReadImportRowsOptions> = {}): Promise<ImportBatch[]> {
  const stream = content instanceof Readable ? content : Readable.from([Buffer.from(content)]);
  const batches: ImportBatch[] = [];
  for await (const batch of readImportRows(stream, { importId: 'imp-1', format: 'csv', defaultUserId: 'uploader', ...options })) batches.push(batch);
  return batches;
}

const reasons = async (content: string, options: Partial<ReadImportRowsOptions> = {}) =>
  (await read(content, options)).flatMap((batch) => batch.rejected.map((row) => row.reason));

const ndjson = (fields: Record<string, unknown>) => JSON.stringify({ userId: 'alice', dateCreated: AT, content: 'hi', tags: ['a'], ...fields });
const ndjsonReason = async (fields: Record<string, unknown>) => (await reasons(`${ndjson(fields)}\n`, { format: 'ndjson' }))[0];

const stopsWith = async (content: string | Buffer | Readable, message: string, options: Partial<ReadImportRowsOptions> = {}) => {
  const error = await read(content, options).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(InvalidInput);
  expect(error).toMatchObject({ message, field: 'file' });
};

describe('why a row breaks the post schema, in words', () => {
  it('names the kind of value a text field was given instead', async () => {
    expect(await ndjsonReason({ content: 5 })).toBe('content must be text, not number 5');
    expect(await ndjsonReason({ content: true })).toBe('content must be text, not boolean true');
    expect(await ndjsonReason({ content: null })).toBe('content must be text, not null');
    expect(await ndjsonReason({ content: { a: 1 } })).toBe('content must be text, not an object');
    expect(await ndjsonReason({ content: [1] })).toBe('content must be text, not a list');
    expect(await ndjsonReason({ userId: 7 })).toBe('userId must be text, not number 7');
    expect(await ndjsonReason({ dateCreated: 5 })).toBe('dateCreated must be text, not number 5');
  });

  it('says a required field is missing', async () => {
    expect(await reasons(`${JSON.stringify({ userId: 'a', dateCreated: AT })}\n`, { format: 'ndjson' })).toEqual(['content is missing']);
    expect(await reasons(`${JSON.stringify({ content: 'hi' })}\n`, { format: 'ndjson' })).toEqual(['dateCreated is missing']);
  });

  it('words the tags by their position, and the list as a whole', async () => {
    expect(await ndjsonReason({ tags: 'a;b' })).toBe('tags must be a list of text, not string "a;b"');
    expect(await ndjsonReason({ tags: { a: 1 } })).toBe('tags must be a list of text, not an object');
    expect(await ndjsonReason({ tags: ['a', 5] })).toBe('tag 2 must be text, not number 5');
    expect(await ndjsonReason({ tags: ['a', ''] })).toBe('tag 2 is empty');
    expect(await ndjsonReason({ tags: ['x'.repeat(101)] })).toBe('tag 1 is longer than 100 characters');
    expect(await ndjsonReason({ tags: Array.from({ length: 101 }, (_, i) => `t${i}`) })).toBe('there are more than 100 tags');
  });

  it('gives the limit a field is over, and the date it cannot read with an example of one it can', async () => {
    expect(await ndjsonReason({ content: 'x'.repeat(100_001) })).toBe('content is longer than 100000 characters');
    expect(await ndjsonReason({ id: 'x'.repeat(201) })).toBe('id is longer than 200 characters');
    expect(await ndjsonReason({ dateCreated: 'nope' })).toBe('dateCreated is not a date: nope (expected ISO 8601, such as 2024-05-01T10:00:00Z)');
  });

  it('says a line that is JSON but not an object is not a row of post fields', async () => {
    const lines = ['[1,2]', '"hello"', 'null', '5'];
    expect(await reasons(`${lines.join('\n')}\n`, { format: 'ndjson' })).toEqual([
      'the row must be a JSON object of post fields, not a list',
      'the row must be a JSON object of post fields, not string "hello"',
      'the row must be a JSON object of post fields, not null',
      'the row must be a JSON object of post fields, not number 5',
    ]);
  });

  it('lists every problem of a row, each unknown field by name', async () => {
    expect(await ndjsonReason({ a: 1, b: 2 })).toBe(
      '"a" is not a post field (expected some of id, userId, dateCreated, content, tags); "b" is not a post field (expected some of id, userId, dateCreated, content, tags)',
    );
    expect(await ndjsonReason({ content: ' ', dateCreated: 'x' })).toBe(
      'dateCreated is not a date: x (expected ISO 8601, such as 2024-05-01T10:00:00Z); content is empty',
    );
  });

  it('says an empty or blank date is empty, as it does for content, instead of quoting nothing as the date it cannot read', async () => {
    expect(await reasons(`${HEADER}alice,,hi\nbob,  ,hi\n`)).toEqual(['dateCreated is empty', 'dateCreated is empty']);
    expect(await ndjsonReason({ dateCreated: '' })).toBe('dateCreated is empty');
  });

  it('says an id that is neither text nor a number is one of those, naming what it is instead', async () => {
    expect(await ndjsonReason({ id: true })).toBe('id must be text or a number, not boolean true');
    expect(await ndjsonReason({ id: { a: 1 } })).toBe('id must be text or a number, not an object');
    expect(await ndjsonReason({ id: [1] })).toBe('id must be text or a number, not a list');
  });

  it('takes a numeric id as text, and an empty id or userId as left out', async () => {
    const [batch] = await read(`${ndjson({ id: 42 })}\n${ndjson({ id: '', userId: null })}\n`, { format: 'ndjson' });
    expect(batch?.posts).toEqual([
      { id: '42', userId: 'alice', dateCreated: AT, content: 'hi', tags: ['a'] },
      { id: 'imp-1-2', userId: 'uploader', dateCreated: AT, content: 'hi', tags: ['a'] },
    ]);
  });
});

describe('why a CSV row cannot be read', () => {
  it('counts the fields of a row that has fewer or more than the header', async () => {
    const [batch] = await read(`${HEADER}alice,${AT}\nbob,${AT},x,extra\n`);
    expect(batch?.rejected).toEqual([
      { rowNumber: 1, line: 2, reason: 'the row has 2 fields, the header has 3', raw: `alice,${AT}`, cells: ['alice', AT] },
      { rowNumber: 2, line: 3, reason: 'the row has 4 fields, the header has 3', raw: `bob,${AT},x,extra`, cells: ['bob', AT, 'x', 'extra'] },
    ]);
  });

  it('rejects the line a quote never closed opens on, without fields, even as the last line', async () => {
    const [batch] = await read(`${HEADER}alice,${AT},"open\n`);
    expect(batch?.rejected).toEqual([
      { rowNumber: 1, line: 2, reason: 'a quote opened in this row is never closed, so its fields cannot be told apart', raw: `alice,${AT},"open` },
    ]);
  });

  it('keeps a CRLF file’s rows without their line endings, and counts its blank lines', async () => {
    const [batch] = await read(`userId,dateCreated,content\r\nalice,${AT},hi\r\n\r\nbob,never,x\r\ncarol,${AT}\r\n`);
    expect(batch?.origins).toEqual([{ rowNumber: 1, line: 2, raw: `alice,${AT},hi`, cells: ['alice', AT, 'hi'] }]);
    expect(batch?.rejected).toEqual([
      {
        rowNumber: 2,
        line: 4,
        reason: 'dateCreated is not a date: never (expected ISO 8601, such as 2024-05-01T10:00:00Z)',
        raw: 'bob,never,x',
        cells: ['bob', 'never', 'x'],
      },
      { rowNumber: 3, line: 5, reason: 'the row has 2 fields, the header has 3', raw: `carol,${AT}`, cells: ['carol', AT] },
    ]);
  });

  it('numbers a row after blank lines by its spreadsheet line', async () => {
    const [batch] = await read(`${HEADER}\n\nalice,${AT}\n`);
    expect(batch?.rejected).toEqual([{ rowNumber: 1, line: 4, reason: 'the row has 2 fields, the header has 3', raw: `alice,${AT}`, cells: ['alice', AT] }]);
  });

  it('reads empty tags as none, and a file with another delimiter or a column mapping', async () => {
    expect((await read(`userId,dateCreated,content,tags\nalice,${AT},hi,  \n`))[0]?.posts).toEqual([
      { id: 'imp-1-1', userId: 'alice', dateCreated: AT, content: 'hi', tags: [] },
    ]);
    expect((await read(`userId;dateCreated;content\nalice;${AT};hi\n`, { delimiter: ';' }))[0]?.origins).toEqual([
      { rowNumber: 1, line: 2, raw: `alice;${AT};hi`, cells: ['alice', AT, 'hi'] },
    ]);
    expect(
      (await read(`who,when,what,note\nalice,${AT},hi,ignored\n`, { mapping: { who: 'userId', when: 'dateCreated', what: 'content' } }))[0]?.posts,
    ).toEqual([{ id: 'imp-1-1', userId: 'alice', dateCreated: AT, content: 'hi', tags: [] }]);
  });
});

describe('why a file stops being read', () => {
  it('names what is wrong with the header, or that there is none', async () => {
    await stopsWith('name,content\nx,y\n', 'the header row cannot be imported: unknown column "name" (expected some of id, userId, dateCreated, content, tags)');
    await stopsWith('content,content,dateCreated\nx,y,z\n', 'the header row cannot be imported: column "content" appears twice');
    await stopsWith(`who,when,what\nalice,${AT},hi\n`, 'the header row cannot be imported: no column is mapped to dateCreated, content', {
      mapping: { who: 'userId' },
    });
    await stopsWith('', 'the file has no header row');
    await stopsWith('\n\n', 'the file has no header row');
  });

  it('names the line of a record longer than the limit', async () => {
    await stopsWith(
      `${HEADER}alice,${AT},"${'x'.repeat(300)}"\n`,
      'line 2: a row is longer than 100 characters (a quote that is never closed makes one row of the rest of the file); the rows after it cannot be delimited reliably',
      { maxRecordBytes: 100 },
    );
  });

  it('accepts a record up to 1 MiB by default', async () => {
    const long = 'x'.repeat(1024 * 1024 - 100);
    const [batch] = await read(`userId,dateCreated,content,tags\nalice,${AT},hi,${long}\n`);
    expect(batch?.rejected).toEqual([
      expect.objectContaining({ rowNumber: 1, reason: 'tag 1 is longer than 100 characters' }),
    ]);
    await expect(read(`userId,dateCreated,content,tags\nalice,${AT},hi,${long}${'x'.repeat(200)}\n`)).rejects.toBeInstanceOf(InvalidInput);
  });

  it('gives the start of the chunk where a UTF-8 file stops being UTF-8', async () => {
    // The bad byte is byte 57; the stream's chunks are 10 bytes, and the one holding it starts at byte 50.
    const file = Buffer.concat([Buffer.from(`${HEADER}alice,${AT},caf`), Buffer.from([0xe9]), Buffer.from('\n')]);
    const chunks = Array.from({ length: Math.ceil(file.length / 10) }, (_, i) => file.subarray(i * 10, i * 10 + 10));
    await stopsWith(Readable.from(chunks), 'the file is not UTF-8 text (invalid bytes at or after byte 50)');
  });
});

describe('an NDJSON line that cannot be read', () => {
  it('keeps the first 200 characters of a line over the limit, and goes on after it', async () => {
    const long = ndjson({ content: 'x'.repeat(5000) });
    const [batch] = await read(`${long}\n${ndjson({})}\n`, { format: 'ndjson', maxRecordBytes: 1000 });
    expect(batch?.rejected).toEqual([{ rowNumber: 1, line: 1, reason: 'the line is longer than 1000 bytes', raw: `${long.slice(0, 200)}…` }]);
    expect(batch?.posts.map((post) => post.id)).toEqual(['imp-1-2']);
  });

  it('says why a line is not JSON', async () => {
    expect(await reasons('{"broken\n', { format: 'ndjson' })).toEqual([`not valid JSON: ${jsonError('{"broken')}`]);
  });

  it('skips a byte order mark only at the start of the file', async () => {
    expect(await reasons(`\uFEFF${ndjson({})}\n\uFEFF${ndjson({})}\n`, { format: 'ndjson' })).toEqual([
      `not valid JSON: ${jsonError(`\uFEFF${ndjson({})}`)}`,
    ]);
  });

  it('reads a last line without a line end, and a CR before the line end as part of it', async () => {
    const [batch] = await read(`${ndjson({ id: 'a' })}\r\n${ndjson({ id: 'b' })}`, { format: 'ndjson' });
    expect(batch?.origins).toEqual([
      { rowNumber: 1, line: 1, raw: ndjson({ id: 'a' }) },
      { rowNumber: 2, line: 2, raw: ndjson({ id: 'b' }) },
    ]);
  });
});

describe('batches', () => {
  it('hold 500 posts, or 500 rejected rows, by default', async () => {
    const rows = Array.from({ length: 501 }, (_, i) => `u${i},${AT},post ${i}`).join('\n');
    const batches = await read(`${HEADER}${rows}\n`);
    expect(batches.map((batch) => [batch.posts.length, batch.rejected.length])).toEqual([
      [500, 0],
      [1, 0],
    ]);
    const bad = Array.from({ length: 501 }, (_, i) => `u${i},never,post ${i}`).join('\n');
    expect((await read(`${HEADER}${bad}\n`)).map((batch) => [batch.posts.length, batch.rejected.length])).toEqual([
      [0, 500],
      [0, 1],
    ]);
  });

  it('end with the half character a UTF-16 LE decoder still held at the end of the stream, as U+FFFD', async () => {
    // A file cut after the first half of a surrogate pair: iconv-lite hands that half over only when the stream ends.
    const file = Buffer.concat([iconv.encode(`${HEADER}alice,${AT},hi`, 'utf-16le'), Buffer.from([0x3d, 0xd8])]);
    const [batch] = await read(file, { encoding: 'utf-16le' });
    expect(batch?.posts).toEqual([{ id: 'imp-1-1', userId: 'alice', dateCreated: AT, content: 'hi\uFFFD', tags: [] }]);
  });

  it('end with the rows a Windows-1252 decoder still held at the end of the stream', async () => {
    const file = iconv.encode(`${HEADER}alice,${AT},café`, 'windows-1252');
    const [batch] = await read(file, { encoding: 'windows-1252' });
    expect(batch?.posts).toEqual([{ id: 'imp-1-1', userId: 'alice', dateCreated: AT, content: 'café', tags: [] }]);
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected invalid JSON');
}

describe('what the reader keeps of awkward rows (mutation survivors of core/import/rows.ts)', () => {
  const unclosed = 'a quote opened in this row is never closed, so its fields cannot be told apart';

  it('rejects a never-closed quote after blank lines by its own line, and numbers the rows after it past those blank lines', async () => {
    const [batch] = await read(`${HEADER}\n\nalice,${AT},"open\nbob,${AT},hi\n`);
    expect(batch).toEqual({
      posts: [{ id: 'imp-1-2', userId: 'bob', dateCreated: AT, content: 'hi', tags: [] }],
      origins: [{ rowNumber: 2, line: 5, raw: `bob,${AT},hi`, cells: ['bob', AT, 'hi'] }],
      rejected: [{ rowNumber: 1, line: 4, reason: unclosed, raw: `alice,${AT},"open` }],
    });
  });

  it('rejects a line that is a lone quote, and imports the rows after it', async () => {
    const [batch] = await read(`${HEADER}"\nbob,${AT},hi\n`);
    expect(batch?.rejected).toEqual([{ rowNumber: 1, line: 2, reason: unclosed, raw: '"' }]);
    expect(batch?.origins).toEqual([{ rowNumber: 2, line: 3, raw: `bob,${AT},hi`, cells: ['bob', AT, 'hi'] }]);
  });

  it('rejects a never-closed quote on the last line of a file that does not end with a line break', async () => {
    expect(await read(`${HEADER}alice,${AT},"open`)).toEqual([
      { posts: [], origins: [], rejected: [{ rowNumber: 1, line: 2, reason: unclosed, raw: `alice,${AT},"open` }] },
    ]);
  });

  it('keeps the line breaks inside a rejected multi-line record, LF or CRLF, and drops only its own line ending', async () => {
    const lf = await read(`${HEADER}bob,never,"a\nb"\n`);
    expect(lf.flatMap((batch) => batch.rejected.map((row) => row.raw))).toEqual(['bob,never,"a\nb"']);
    const crlf = await read(`userId,dateCreated,content\r\nbob,never,"a\r\nb"\r\n`);
    expect(crlf.flatMap((batch) => batch.rejected.map((row) => row.raw))).toEqual(['bob,never,"a\r\nb"']);
  });

  it('imports the last CSV record of a file without a final line break', async () => {
    expect(await read(`${HEADER}alice,${AT},hi`)).toEqual([
      {
        posts: [{ id: 'imp-1-1', userId: 'alice', dateCreated: AT, content: 'hi', tags: [] }],
        origins: [{ rowNumber: 1, line: 2, raw: `alice,${AT},hi`, cells: ['alice', AT, 'hi'] }],
        rejected: [],
      },
    ]);
  });

  it('yields no row of a file whose header cannot be imported, even rows read with it', async () => {
    const batches: ImportBatch[] = [];
    const error = await (async () => {
      for await (const batch of readImportRows(Readable.from([Buffer.from(`name,content\nx,y\n`)]), {
        importId: 'imp-1',
        format: 'csv',
        defaultUserId: 'uploader',
      }))
        batches.push(batch);
    })().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(batches).toEqual([]);
    expect(error).toMatchObject({
      message: 'the header row cannot be imported: unknown column "name" (expected some of id, userId, dateCreated, content, tags)',
    });
  });

  it('stops on a header whose quote is never closed, with csv-parse’s words and the line', async () => {
    await stopsWith(
      '"userId,dateCreated,content\n',
      'line 1: Quote Not Closed: the parsing is finished with an opening quote at line 1; the rows after it cannot be delimited reliably',
    );
  });

  it('reads text handed over as strings, not only as bytes', async () => {
    const [batch] = await read(Readable.from([`${HEADER}alice,`, `${AT},café\n`]));
    expect(batch?.posts).toEqual([{ id: 'imp-1-1', userId: 'alice', dateCreated: AT, content: 'café', tags: [] }]);
  });

  it('checks a UTF-8 file with a byte order mark byte by byte too, instead of replacing bytes that are not UTF-8', async () => {
    const file = Buffer.concat([Buffer.from(`\uFEFF${HEADER}alice,${AT},caf`), Buffer.from([0xe9, 0x0a])]);
    await stopsWith(file, 'the file is not UTF-8 text (invalid bytes at or after byte 0)', { encoding: 'utf-8-bom' });
  });
});

describe('NDJSON lines at the edges (mutation survivors of core/import/rows.ts)', () => {
  it('skips no byte order mark in a chunk of a larger file: its first line is not the file’s', async () => {
    const [batch] = await read(`\uFEFF${ndjson({})}\n`, { format: 'ndjson', continueFrom: { rowsBefore: 10, linesBefore: 12 } });
    expect(batch?.rejected).toEqual([
      { rowNumber: 11, line: 13, reason: `not valid JSON: ${jsonError(`\uFEFF${ndjson({})}`)}`, raw: `\uFEFF${ndjson({})}` },
    ]);
  });

  it('skips no byte order mark on the second line when the first was over the limit', async () => {
    const long = ndjson({ content: 'x'.repeat(2000) });
    const [batch] = await read(`${long}\n\uFEFF${ndjson({})}\n`, { format: 'ndjson', maxRecordBytes: 1000 });
    expect(batch?.rejected.map((row) => [row.rowNumber, row.line, row.reason])).toEqual([
      [1, 1, 'the line is longer than 1000 bytes'],
      [2, 2, `not valid JSON: ${jsonError(`\uFEFF${ndjson({})}`)}`],
    ]);
  });

  it('drops only the CR that ends a line: a CR inside it stays and makes the JSON invalid', async () => {
    const line = `{"userId":"alice","dateCreated":"${AT}","content":"a\rb"}`;
    const [batch] = await read(`${line}\n`, { format: 'ndjson' });
    expect(batch?.rejected).toEqual([{ rowNumber: 1, line: 1, reason: `not valid JSON: ${jsonError(line)}`, raw: line }]);
  });

  it('accepts a line of exactly maxRecordBytes bytes, whole or arriving across chunks', async () => {
    const base = ndjson({ content: '' });
    const line = ndjson({ content: 'x'.repeat(1000 - base.length) });
    expect(Buffer.byteLength(line)).toBe(1000);
    const whole = await read(`${line}\n`, { format: 'ndjson', maxRecordBytes: 1000 });
    expect(whole.flatMap((batch) => batch.posts.map((post) => post.content.length))).toEqual([1000 - base.length]);
    const split = await read(Readable.from([Buffer.from(line), Buffer.from('\n')]), { format: 'ndjson', maxRecordBytes: 1000 });
    expect(split.flatMap((batch) => batch.posts.map((post) => post.content.length))).toEqual([1000 - base.length]);
  });
});
