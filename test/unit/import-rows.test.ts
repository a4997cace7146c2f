import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../core/errors';
import { neutraliseFormula } from '../../core/csv';
import iconv from 'iconv-lite';
import { ErrorReportWriter, type ReportLayout } from '../../core/import/error-report';
import { readImportRows, type ImportBatch, type ReadImportRowsOptions, type RejectedRow } from '../../core/import/rows';
import type { Post } from '../../core/model';

const IMPORT = 'imp-1';
const AT = '2024-05-01T10:00:00Z';

async function readAll(content: string | Buffer | Readable, options: Partial<ReadImportRowsOptions> = {}) {
  const stream = content instanceof Readable ? content : Readable.from([typeof content === 'string' ? Buffer.from(content) : content]);
  const batches: ImportBatch[] = [];
  for await (const batch of readImportRows(stream, { importId: IMPORT, format: 'csv', defaultUserId: 'uploader', ...options }))
    batches.push(batch);
  return {
    batches,
    posts: batches.flatMap((b) => b.posts),
    rejected: batches.flatMap((b) => b.rejected).sort((a, b) => a.rowNumber - b.rowNumber),
  };
}

/** A stream delivering `text` in chunks of `size` bytes, to cut records, lines and characters anywhere. */
const chunked = (text: string, size: number): Readable => {
  const bytes = Buffer.from(text);
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    })(),
  );
};

describe('reading CSV rows into posts', () => {
  it('keeps the id the file gives (upsert by id); a row whose id is empty gets <importId>-<rowNumber>', async () => {
    const { posts, rejected } = await readAll(
      `id,userId,dateCreated,content,tags\nsrc-9,alice,${AT},Hello,a;b\nsrc-7,bob,${AT},Bye,\n,carol,${AT},New,\n`,
    );
    expect(rejected).toEqual([]);
    expect(posts).toEqual<Post[]>([
      { id: 'src-9', userId: 'alice', dateCreated: AT, content: 'Hello', tags: ['a', 'b'] },
      { id: 'src-7', userId: 'bob', dateCreated: AT, content: 'Bye', tags: [] },
      { id: 'imp-1-3', userId: 'carol', dateCreated: AT, content: 'New', tags: [] },
    ]);
  });

  it('gives a file without ids the ids <importId>-<rowNumber>, and each post the row it came from', async () => {
    const { batches } = await readAll(`userId,dateCreated,content\nalice,${AT},Hello\nbob,${AT},"Bye, then"\n`);
    expect(batches[0]?.posts.map((p) => p.id)).toEqual(['imp-1-1', 'imp-1-2']);
    expect(batches[0]?.origins).toEqual([
      { rowNumber: 1, line: 2, raw: `alice,${AT},Hello`, cells: ['alice', AT, 'Hello'] },
      { rowNumber: 2, line: 3, raw: `bob,${AT},"Bye, then"`, cells: ['bob', AT, 'Bye, then'] },
    ]);
  });

  it('makes the uploader the author of rows without a userId (no column, or an empty cell)', async () => {
    const noColumn = await readAll(`dateCreated,content\n${AT},mine\n`);
    expect(noColumn.posts).toEqual([{ id: 'imp-1-1', userId: 'uploader', dateCreated: AT, content: 'mine', tags: [] }]);
    const emptyCell = await readAll(`userId,dateCreated,content\n,${AT},mine too\n`);
    expect(emptyCell.posts[0]?.userId).toBe('uploader');
  });

  it("reverses the export's formula guard by exactly its rule: a quote before =, +, -, @, tab or CR goes", async () => {
    const cells = ['=SUM(A1)', '+1 great', '-minus', '@bob', '\tindented', 'plain', "'quoted", "it's"];
    const file = `userId,dateCreated,content,tags\n${cells.map((cell) => `alice,${AT},"${neutraliseFormula(cell)}",${neutraliseFormula('=x;y')}`).join('\n')}\n`;
    const { posts, rejected } = await readAll(file);
    expect(rejected).toEqual([]);
    expect(posts.map((p) => p.content)).toEqual(cells);
    expect(posts[0]?.tags).toEqual(['=x', 'y']);
    // The one ambiguity (README): a value that itself starts with a quote and a trigger loses that quote.
    const ambiguous = await readAll(`userId,dateCreated,content\nalice,${AT},'=already quoted\n`);
    expect(ambiguous.posts[0]?.content).toBe('=already quoted');
  });

  it('gives the same ids when the same file is read again (re-running an import never duplicates)', async () => {
    const file = `userId,dateCreated,content\nalice,${AT},one\nbob,${AT},two\n`;
    const first = await readAll(file);
    const second = await readAll(file);
    expect(second.posts.map((p) => p.id)).toEqual(first.posts.map((p) => p.id));
  });

  it('splits tags on ";" and trims them; a missing tags column means no tags', async () => {
    const { posts } = await readAll(`userId,dateCreated,content,tags\nalice,${AT},x, red ;blue\n`);
    expect(posts[0]?.tags).toEqual(['red', 'blue']);
    const noTags = await readAll(`content,dateCreated,userId\nhi,${AT},alice\n`);
    expect(noTags.posts[0]).toEqual({ id: 'imp-1-1', userId: 'alice', dateCreated: AT, content: 'hi', tags: [] });
  });

  it('rejects a row that breaks the post schema, saying why in plain words, and keeps the raw row, its fields and its line', async () => {
    const { posts, rejected } = await readAll(
      `userId,dateCreated,content,tags\nalice,yesterday,x,a\n${'u'.repeat(201)},${AT},x,a\nbob,${AT},x,a;;b\n`,
    );
    expect(posts).toEqual([]);
    expect(rejected).toEqual<RejectedRow[]>([
      {
        rowNumber: 1,
        line: 2,
        reason: expect.stringMatching(/^dateCreated is not a date: yesterday/),
        raw: 'alice,yesterday,x,a',
        cells: ['alice', 'yesterday', 'x', 'a'],
      },
      {
        rowNumber: 2,
        line: 3,
        reason: expect.stringMatching(/^userId /),
        raw: `${'u'.repeat(201)},${AT},x,a`,
        cells: ['u'.repeat(201), AT, 'x', 'a'],
      },
      { rowNumber: 3, line: 4, reason: 'tag 2 is empty', raw: `bob,${AT},x,a;;b`, cells: ['bob', AT, 'x', 'a;;b'] },
    ]);
  });

  it('rejects an empty required field, and an impossible date, in plain words', async () => {
    const { posts, rejected } = await readAll(
      `userId,dateCreated,content\nalice,${AT},\nbob,${AT},   \ncarol,31/02/2024,x\ndan,2024-02-31T10:00:00Z,x\n`,
    );
    expect(posts).toEqual([]);
    expect(rejected.map((row) => [row.line, row.reason])).toEqual([
      [2, 'content is empty'],
      [3, 'content is empty'],
      [4, expect.stringMatching(/^dateCreated is not a date: 31\/02\/2024/)],
      [5, expect.stringMatching(/^dateCreated is not a date: 2024-02-31T10:00:00Z/)],
    ]);
  });

  it('numbers lines as a spreadsheet does: header line 1, blank lines counted, a multi-line record one line', async () => {
    const file = `userId,dateCreated,content\nalice,${AT},"two\nlines"\n\nbob,never,x\ncarol,${AT},"three\nmore\nlines"\ndan,never,y\n`;
    const { rejected } = await readAll(file);
    expect(rejected.map((row) => [row.rowNumber, row.line])).toEqual([
      [2, 4],
      [4, 6],
    ]);
  });

  it('rejects a row with the wrong number of fields and goes on with the next', async () => {
    const { posts, rejected } = await readAll(`userId,dateCreated,content\nalice,${AT}\nbob,${AT},fine\n`);
    expect(rejected).toEqual([
      { rowNumber: 1, line: 2, reason: 'the row has 2 fields, the header has 3', raw: `alice,${AT}`, cells: ['alice', AT] },
    ]);
    expect(posts).toEqual([{ id: 'imp-1-2', userId: 'bob', dateCreated: AT, content: 'fine', tags: [] }]);
  });

  it('counts a quoted multi-line record as one row, and skips blank lines without counting them', async () => {
    const { posts } = await readAll(`userId,dateCreated,content\n\nalice,${AT},"two\nlines"\n\nbob,${AT},one\n`);
    expect(posts.map((p) => [p.id, p.content])).toEqual([
      ['imp-1-1', 'two\nlines'],
      ['imp-1-2', 'one'],
    ]);
  });

  it('gives the same rows however the bytes are chunked (records and characters cut anywhere)', async () => {
    const file = `\uFEFFuserId,dateCreated,content,tags\r\nzoë,${AT},"naïve, ""quoted""\r\ntext",日本;語\r\nbad,row\r\nbob,${AT},plain,\r\n`;
    const whole = await readAll(file);
    expect(whole.posts).toHaveLength(2);
    expect(whole.posts[0]).toMatchObject({ userId: 'zoë', content: 'naïve, "quoted"\r\ntext', tags: ['日本', '語'] });
    for (const size of [1, 2, 3, 7, 64]) {
      const again = await readAll(chunked(file, size));
      expect(again.posts, `chunks of ${size}`).toEqual(whole.posts);
      expect(again.rejected, `chunks of ${size}`).toEqual(whole.rejected);
    }
  });

  it('yields batches of at most batchSize posts', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => `u${i},${AT},c${i}`).join('\n');
    const { batches, posts } = await readAll(`userId,dateCreated,content\n${rows}\n`, { batchSize: 10 });
    expect(batches.map((b) => b.posts.length)).toEqual([10, 10, 5]);
    expect(posts.map((p) => p.id)).toEqual(Array.from({ length: 25 }, (_, i) => `imp-1-${i + 1}`));
  });

  it.each([
    ['a header with an unknown column', `userId,dateCreated,content,likes\nalice,${AT},x,3\n`, /unknown column "likes"/],
    ['a header missing a required column', `userId,content\nalice,x\n`, /missing column dateCreated/],
    ['an empty file', '', /no header row/],
  ])('stops with InvalidInput on %s (the rest of the file cannot be read reliably)', async (_name, file, reason) => {
    const reading = readAll(file);
    await expect(reading).rejects.toBeInstanceOf(InvalidInput);
    await expect(reading).rejects.toThrow(reason);
  });

  it('reads quotes inside an unquoted field as literal characters, as Excel and Python do', async () => {
    const { posts, rejected } = await readAll(
      `userId,dateCreated,content\nalice,${AT},5" floppy\nbob,${AT},say "hi" now\ncarol,${AT},"a"b\n`,
    );
    expect(rejected).toEqual([]);
    expect(posts.map((p) => p.content)).toEqual(['5" floppy', 'say "hi" now', '"a"b']);
  });

  it('rejects the line a never-closed quote opens on, with its line number, and imports the rows after it', async () => {
    // Its quote has no partner, so it runs to the end of the file: nothing later closes it.
    const file = `userId,dateCreated,content\nalice,${AT},ok\n\ndan,${AT},"fine\nquoted"\nbob,${AT},"open\ncarol,${AT},c\n\nfrank,${AT},f\n`;
    for (const size of [3, 64, 4096]) {
      const { posts, rejected } = await readAll(chunked(file, size));
      expect(rejected, `chunks of ${size}`).toEqual([
        { rowNumber: 3, line: 5, reason: expect.stringContaining('never closed'), raw: `bob,${AT},"open` },
      ]);
      expect(
        posts.map((p) => [p.id, p.content]),
        `chunks of ${size}`,
      ).toEqual([
        ['imp-1-1', 'ok'],
        ['imp-1-2', 'fine\nquoted'],
        ['imp-1-4', 'c'],
        ['imp-1-5', 'f'],
      ]);
    }
    const { rejected } = await readAll(`userId,dateCreated,content\nbob,${AT},"open\n\ncarol,never,c\n`);
    expect(rejected.map((row) => [row.line, row.reason])).toEqual([
      [2, expect.stringContaining('never closed')],
      [4, expect.stringMatching(/^dateCreated is not a date: never/)],
    ]);
  });

  it.each([
    ['semicolon', ';'],
    ['tab', '\t'],
    ['pipe', '|'],
  ] as const)('reads a %s-delimited file with the delimiter the format check found', async (_name, delimiter) => {
    const file = [
      ['userId', 'dateCreated', 'content', 'tags'],
      ['alice', AT, 'Hello, world', '"a;b"'],
      ['bob', AT, 'x'],
    ]
      .map((cells) => cells.join(delimiter))
      .join('\r\n');
    const { posts, rejected } = await readAll(file, { delimiter });
    expect(posts).toEqual([{ id: 'imp-1-1', userId: 'alice', dateCreated: AT, content: 'Hello, world', tags: ['a', 'b'] }]);
    expect(rejected).toEqual([expect.objectContaining({ line: 3, reason: 'the row has 3 fields, the header has 4' })]);
  });

  it('decodes Windows-1252 and UTF-16 (LE and BE, with their BOM) as it streams, characters cut across chunks', async () => {
    const text = `userId,dateCreated,content\r\nzoë,${AT},"café — 10 €, naïve"\r\n`;
    const files: Array<[ReadImportRowsOptions['encoding'], Buffer]> = [
      ['windows-1252', iconv.encode(text, 'windows-1252')],
      ['utf-16le', iconv.encode(text, 'utf-16le', { addBOM: true })],
      ['utf-16be', iconv.encode(text, 'utf-16be', { addBOM: true })],
      ['utf-8-bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
    ];
    for (const [encoding, bytes] of files) {
      for (const size of [1, 3, 1024]) {
        const stream = Readable.from(
          (function* () {
            for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
          })(),
        );
        const { posts } = await readAll(stream, { encoding });
        expect(posts, `${encoding} in chunks of ${size}`).toEqual([
          { id: 'imp-1-1', userId: 'zoë', dateCreated: AT, content: 'café — 10 €, naïve', tags: [] },
        ]);
      }
    }
  });

  it('imports an error report fixed and uploaded again: its line and error columns are ignored', async () => {
    const { posts, rejected } = await readAll(`userId,dateCreated,content,line,error\nalice,${AT},fixed now,3,content is empty\n`);
    expect(rejected).toEqual([]);
    expect(posts).toEqual([{ id: 'imp-1-1', userId: 'alice', dateCreated: AT, content: 'fixed now', tags: [] }]);
  });

  it('stops with InvalidInput on bytes that are not UTF-8 instead of replacing them', async () => {
    const file = Buffer.concat([Buffer.from(`userId,dateCreated,content\nalice,${AT},caf`), Buffer.from([0xe9]), Buffer.from('\n')]);
    await expect(readAll(file)).rejects.toThrow(/not UTF-8/);
  });

  it('stops on a record longer than maxRecordBytes rather than buffering without bound', async () => {
    const file = `userId,dateCreated,content\nalice,${AT},"${'x'.repeat(5000)}\n`;
    await expect(readAll(file, { maxRecordBytes: 1000 })).rejects.toBeInstanceOf(InvalidInput);
  });
});

describe('reading NDJSON rows into posts', () => {
  const line = (fields: Record<string, unknown>) =>
    JSON.stringify({ userId: 'alice', dateCreated: AT, content: 'hi', tags: ['a'], ...fields });

  it('turns each non-blank line into a post, keeping its id or giving it a deterministic one', async () => {
    const { posts, rejected } = await readAll(`${line({ id: 'src-1' })}\n\n${line({ userId: 'bob', tags: undefined })}\r\n`, {
      format: 'ndjson',
    });
    expect(rejected).toEqual([]);
    expect(posts).toEqual([
      { id: 'src-1', userId: 'alice', dateCreated: AT, content: 'hi', tags: ['a'] },
      { id: 'imp-1-2', userId: 'bob', dateCreated: AT, content: 'hi', tags: [] },
    ]);
  });

  it('rejects invalid JSON, wrong types and unknown fields, each with its reason, and goes on', async () => {
    const file = ['{"broken', line({ tags: 'a;b' }), line({ likes: 3 }), line({})].join('\n');
    const { posts, rejected } = await readAll(file, { format: 'ndjson' });
    expect(rejected.map((r) => [r.rowNumber, r.reason])).toEqual([
      [1, expect.stringMatching(/^not valid JSON/)],
      [2, 'tags must be a list of text, not string "a;b"'],
      [3, '"likes" is not a post field (expected some of id, userId, dateCreated, content, tags)'],
    ]);
    expect(rejected[0]?.raw).toBe('{"broken');
    expect(posts.map((p) => p.id)).toEqual(['imp-1-4']);
  });

  it('rejects an over-long line without buffering it, and reads the lines after it', async () => {
    const file = `${line({ content: 'x'.repeat(10_000) })}\n${line({})}\n`;
    for (const size of [100, 65_536]) {
      const { posts, rejected } = await readAll(chunked(file, size), { format: 'ndjson', maxRecordBytes: 2000 });
      expect(rejected).toEqual([
        { rowNumber: 1, line: 1, reason: 'the line is longer than 2000 bytes', raw: expect.stringMatching(/^\{"userId":"alice".*…$/) },
      ]);
      expect(posts.map((p) => p.id)).toEqual(['imp-1-2']);
    }
  });

  it('gives the same rows however the bytes are chunked, with a BOM and multi-byte characters', async () => {
    const file = `\uFEFF${line({ content: 'zoë 日本' })}\n${line({ userId: '' })}\n${line({})}`;
    const whole = await readAll(file, { format: 'ndjson' });
    expect(whole.posts[0]?.content).toBe('zoë 日本');
    for (const size of [1, 2, 5, 33]) {
      expect(await readAll(chunked(file, size), { format: 'ndjson' })).toEqual(whole);
    }
  });

  it('numbers each rejected line as an editor does, blank lines included', async () => {
    const { rejected } = await readAll(`${line({})}\n\n{"broken\n${line({ content: '' })}\n`, { format: 'ndjson' });
    expect(rejected.map((row) => [row.rowNumber, row.line, row.reason])).toEqual([
      [2, 3, expect.stringMatching(/^not valid JSON/)],
      [3, 4, 'content is empty'],
    ]);
  });

  it('stops with InvalidInput on bytes that are not UTF-8', async () => {
    await expect(readAll(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a]), { format: 'ndjson' })).rejects.toBeInstanceOf(InvalidInput);
  });
});

describe('the error report', () => {
  async function reportBytes(batches: RejectedRow[][], layout?: ReportLayout): Promise<Buffer> {
    const writer = new ErrorReportWriter(layout);
    const bytes: Promise<Buffer> = (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of writer.stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    })();
    for (const rows of batches) await writer.write(rows);
    writer.end();
    return bytes;
  }
  const report = async (batches: RejectedRow[][], layout?: ReportLayout) => (await reportBytes(batches, layout)).toString('utf8');
  const COLUMNS = ['userId', 'dateCreated', 'content'];

  it('lists the rejected rows in the file’s own columns, then line and error', async () => {
    const row: RejectedRow = {
      rowNumber: 3,
      line: 4,
      reason: 'dateCreated is not a date: yesterday',
      raw: 'alice,yesterday,"x, y"',
      cells: ['alice', 'yesterday', 'x, y'],
    };
    expect(parse(await report([[row]], { columns: COLUMNS }))).toEqual([
      ['userId', 'dateCreated', 'content', 'line', 'error'],
      ['alice', 'yesterday', 'x, y', '4', 'dateCreated is not a date: yesterday'],
    ]);
  });

  it('keeps every field of a row with too many or too few, and puts a row it could not split in the first column', async () => {
    const csv = await report(
      [
        [
          { rowNumber: 1, line: 2, reason: 'the row has 4 fields, the header has 3', raw: 'a,b,c,d', cells: ['a', 'b', 'c', 'd'] },
          { rowNumber: 2, line: 3, reason: 'the row has 1 fields, the header has 3', raw: 'a', cells: ['a'] },
          { rowNumber: 3, line: 4, reason: 'a quote opened in this row is never closed', raw: 'bob,x,"open' },
        ],
      ],
      { columns: COLUMNS },
    );
    expect(parse(csv).slice(1)).toEqual([
      ['a', 'b', 'c,d', '2', 'the row has 4 fields, the header has 3'],
      ['a', '', '', '3', 'the row has 1 fields, the header has 3'],
      ['bob,x,"open', '', '', '4', 'a quote opened in this row is never closed'],
    ]);
  });

  it('is written with the file’s delimiter and encoding, so it opens like the file did', async () => {
    const row: RejectedRow = { rowNumber: 1, line: 2, reason: 'content is empty', raw: 'zoë;x;', cells: ['zoë', 'x;y', ''] };
    const semicolon = await reportBytes([[row]], { columns: COLUMNS, delimiter: ';', encoding: 'windows-1252' });
    expect(iconv.decode(semicolon, 'windows-1252')).toBe('userId;dateCreated;content;line;error\r\nzoë;"x;y";;2;content is empty\r\n');
    expect(semicolon.includes(Buffer.from('zoë'))).toBe(false);
    const tab = await reportBytes([[row]], { columns: COLUMNS, delimiter: '\t', encoding: 'utf-16le' });
    expect([...tab.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(parse(iconv.decode(tab, 'utf-16le'), { delimiter: '\t' })).toEqual([
      ['userId', 'dateCreated', 'content', 'line', 'error'],
      ['zoë', 'x;y', '', '2', 'content is empty'],
    ]);
    const bom = await reportBytes([], { columns: COLUMNS, encoding: 'utf-8-bom' });
    expect([...bom.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(new ErrorReportWriter({ encoding: 'windows-1252' }).contentType).toBe('text/csv; charset=windows-1252');
  });

  it('replaces the line and error columns of a report uploaded again instead of repeating them', async () => {
    const row: RejectedRow = { rowNumber: 1, line: 2, reason: 'content is empty', raw: '', cells: ['alice', '3', 'old error', ''] };
    expect(parse(await report([[row]], { columns: ['userId', 'line', 'error', 'content'] }))).toEqual([
      ['userId', 'content', 'line', 'error'],
      ['alice', '', '2', 'content is empty'],
    ]);
  });

  it('lists line, error and the raw line for NDJSON, whose rows have no columns', async () => {
    const csv = await report([[{ rowNumber: 3, line: 5, reason: 'not valid JSON', raw: '{"broken, "x"' }]]);
    expect(parse(csv)).toEqual([
      ['line', 'error', 'raw'],
      ['5', 'not valid JSON', '{"broken, "x"'],
    ]);
  });

  it('is the header alone when nothing was rejected', async () => {
    expect(await report([])).toBe('line,error,raw\r\n');
    expect(await report([], { columns: COLUMNS })).toBe('userId,dateCreated,content,line,error\r\n');
  });

  it('neutralizes cells a spreadsheet would run as formulas', async () => {
    const csv = await report([[{ rowNumber: 1, line: 2, reason: '=HYPERLINK("http://evil")', raw: '@SUM(1)' }]]);
    expect(parse(csv)[1]).toEqual(['2', `'=HYPERLINK("http://evil")`, `'@SUM(1)`]);
    const own = await report([[{ rowNumber: 1, line: 2, reason: 'x', raw: '', cells: ['=1+1', '+2', 'plain'] }]], { columns: COLUMNS });
    expect(parse(own)[1]).toEqual([`'=1+1`, `'+2`, 'plain', '2', 'x']);
    expect(['=1', '+1', '-1', '@x', '\t=1', '\r=1', 'plain', '1-2'].map(neutraliseFormula)).toEqual([
      "'=1",
      "'+1",
      "'-1",
      "'@x",
      "'\t=1",
      "'\r=1",
      'plain',
      '1-2',
    ]);
  });

  it('round-trips rejected rows from a real file, including fields with quotes and newlines', async () => {
    const { rejected } = await readAll(`userId,dateCreated,content\nalice,never,"multi\nline ""quoted"""\n`);
    const rows = parse(await report([rejected], { columns: COLUMNS }), { columns: true }) as Array<Record<string, string>>;
    expect(rows).toEqual([
      {
        userId: 'alice',
        dateCreated: 'never',
        content: 'multi\nline "quoted"',
        line: '2',
        error: expect.stringMatching(/^dateCreated is not a date/),
      },
    ]);
  });

  it('keeps memory flat: write waits for the reader instead of buffering', async () => {
    const writer = new ErrorReportWriter();
    const many = Array.from({ length: 50_000 }, (_, i) => ({ rowNumber: i + 1, reason: 'userId is empty', raw: 'x'.repeat(100) }));
    let settled = false;
    const writing = writer.write(many).then(() => (settled = true));
    // No one reads yet: the writer fills the stream's buffer, then waits for it to drain.
    await expect.poll(() => writer.stream.readableLength).toBeGreaterThanOrEqual(writer.stream.readableHighWaterMark);
    expect(settled).toBe(false);
    expect(writer.rowCount).toBeLessThan(many.length);
    expect(writer.stream.readableLength).toBeLessThan(1024 * 1024);
    writer.stream.resume();
    await writing;
    writer.end();
    expect(writer.rowCount).toBe(50_000);
  });
});
