import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../core/errors';
import { neutraliseFormula } from '../../core/csv';
import { ErrorReportWriter } from '../../core/import/error-report';
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
      { rowNumber: 1, raw: `alice,${AT},Hello` },
      { rowNumber: 2, raw: `bob,${AT},"Bye, then"` },
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

  it('rejects a row that breaks the post schema, naming the field, and keeps the raw row', async () => {
    const { posts, rejected } = await readAll(
      `userId,dateCreated,content,tags\nalice,yesterday,x,a\n${'u'.repeat(201)},${AT},x,a\nbob,${AT},x,a;;b\n`,
    );
    expect(posts).toEqual([]);
    expect(rejected).toEqual<RejectedRow[]>([
      { rowNumber: 1, reason: expect.stringMatching(/^dateCreated: /), raw: 'alice,yesterday,x,a' },
      { rowNumber: 2, reason: expect.stringMatching(/^userId: /), raw: `${'u'.repeat(201)},${AT},x,a` },
      { rowNumber: 3, reason: expect.stringMatching(/^tags\[1\]: /), raw: `bob,${AT},x,a;;b` },
    ]);
  });

  it('rejects a row with the wrong number of fields and goes on with the next', async () => {
    const { posts, rejected } = await readAll(`userId,dateCreated,content\nalice,${AT}\nbob,${AT},fine\n`);
    expect(rejected).toEqual([{ rowNumber: 1, reason: 'line 2: has 2 fields, the header has 3', raw: `alice,${AT}` }]);
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
    [
      'a closing quote followed by text',
      `userId,dateCreated,content\nalice,${AT},"a"b\nbob,${AT},c\n`,
      /Invalid Closing Quote.*cannot be delimited/,
    ],
    ['a quote never closed', `userId,dateCreated,content\nalice,${AT},"open\nbob,${AT},c\n`, /Quote Not Closed/],
  ])('stops with InvalidInput on %s (the rest of the file cannot be read reliably)', async (_name, file, reason) => {
    const reading = readAll(file);
    await expect(reading).rejects.toBeInstanceOf(InvalidInput);
    await expect(reading).rejects.toThrow(reason);
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
      [2, expect.stringMatching(/^tags: /)],
      [3, expect.stringContaining('likes')],
    ]);
    expect(rejected[0]?.raw).toBe('{"broken');
    expect(posts.map((p) => p.id)).toEqual(['imp-1-4']);
  });

  it('rejects an over-long line without buffering it, and reads the lines after it', async () => {
    const file = `${line({ content: 'x'.repeat(10_000) })}\n${line({})}\n`;
    for (const size of [100, 65_536]) {
      const { posts, rejected } = await readAll(chunked(file, size), { format: 'ndjson', maxRecordBytes: 2000 });
      expect(rejected).toEqual([
        { rowNumber: 1, reason: 'the line is longer than 2000 bytes', raw: expect.stringMatching(/^\{"userId":"alice".*…$/) },
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

  it('stops with InvalidInput on bytes that are not UTF-8', async () => {
    await expect(readAll(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a]), { format: 'ndjson' })).rejects.toBeInstanceOf(InvalidInput);
  });
});

describe('the error report', () => {
  async function report(batches: RejectedRow[][]): Promise<string> {
    const writer = new ErrorReportWriter();
    const text: Promise<string> = (async () => {
      let out = '';
      for await (const chunk of writer.stream) out += String(chunk);
      return out;
    })();
    for (const rows of batches) await writer.write(rows);
    writer.end();
    return text;
  }

  it('lists rowNumber, reason and the raw row under a header', async () => {
    const csv = await report([[{ rowNumber: 3, reason: 'dateCreated: Invalid ISO datetime', raw: 'alice,yesterday,"x, y"' }]]);
    expect(parse(csv)).toEqual([
      ['rowNumber', 'reason', 'raw'],
      ['3', 'dateCreated: Invalid ISO datetime', 'alice,yesterday,"x, y"'],
    ]);
  });

  it('is the header alone when nothing was rejected', async () => {
    expect(await report([])).toBe('rowNumber,reason,raw\r\n');
  });

  it('neutralizes cells a spreadsheet would run as formulas', async () => {
    const csv = await report([[{ rowNumber: 1, reason: '=HYPERLINK("http://evil")', raw: '@SUM(1)' }]]);
    expect(parse(csv)[1]).toEqual(['1', `'=HYPERLINK("http://evil")`, `'@SUM(1)`]);
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

  it('round-trips rejected rows from a real file, including raw rows with quotes and newlines', async () => {
    const { rejected } = await readAll(`userId,dateCreated,content\nalice,never,"multi\nline ""quoted"""\n`);
    const rows = parse(await report([rejected]), { columns: true }) as Array<Record<string, string>>;
    expect(rows).toEqual([{ rowNumber: '1', reason: expect.stringMatching(/^dateCreated/), raw: 'alice,never,"multi\nline ""quoted"""' }]);
  });

  it('keeps memory flat: write waits for the reader instead of buffering', async () => {
    const writer = new ErrorReportWriter();
    const many = Array.from({ length: 50_000 }, (_, i) => ({ rowNumber: i + 1, reason: 'userId: Too small', raw: 'x'.repeat(100) }));
    let settled = false;
    const writing = writer.write(many).then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    expect(writer.stream.readableLength).toBeLessThan(1024 * 1024);
    writer.stream.resume();
    await writing;
    writer.end();
    expect(writer.rowCount).toBe(50_000);
  });
});
