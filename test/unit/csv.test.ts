import { text } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { TAG_SEPARATOR, csvLine, neutraliseFormula } from '../../core/csv';
import { POST_COLUMNS, type Post, type PostColumn } from '../../core/model';
import { makePosts } from './fakes';
import { csvChunks, exportColumns, postsToCsvStream } from '../../core/export/csv';
import { readImportRows } from '../../core/import/rows';
import { Readable } from 'node:stream';

/** The cells a post's CSV record should hold, written out plainly as the reference the writer is checked against. */
const recordOf = (p: Post, columns: readonly PostColumn[]): string[] =>
  columns.map((column) => neutraliseFormula(column === 'tags' ? p.tags.join(TAG_SEPARATOR) : p[column]));

async function* batchesOf(posts: Post[], size = 2): AsyncIterable<Post[]> {
  for (let i = 0; i < posts.length; i += size) yield posts.slice(i, i + size);
}

const csvOf = (posts: Post[], columns = exportColumns()) => text(postsToCsvStream(batchesOf(posts), columns));
const parseCsv = (csv: string): string[][] => parse(csv, { record_delimiter: '\r\n', relax_column_count: false });

const post = (overrides: Partial<Post>): Post => ({
  id: 'p1',
  userId: 'u1',
  dateCreated: '2024-06-01T12:00:00.000Z',
  content: 'hello',
  tags: ['a'],
  ...overrides,
});

describe('CSV of posts', () => {
  it('writes every date in UTC with Z and milliseconds, whatever offset the post was stored with', async () => {
    const rows = parseCsv(
      await csvOf([
        post({ id: 'east', dateCreated: '2024-06-01T14:00:00+02:00' }),
        post({ id: 'west', dateCreated: '2024-06-01T07:30:00-04:30' }),
      ]),
    );
    expect(rows.slice(1).map((row) => row[2])).toEqual(['2024-06-01T12:00:00.000Z', '2024-06-01T12:00:00.000Z']);
  });

  it('round trip: an export imported gives back the same posts, and exporting them again gives the same bytes', async () => {
    const posts = [
      post({ id: 'formula', content: '=SUM(A1:A9) budget', tags: ['+1', 'plain'] }),
      post({ id: 'signs', content: '-minus, +plus, @at', tags: [] }),
      post({ id: 'tab', content: '\tindented\r\nsecond line "quoted"' }),
      post({ id: 'quote', content: "it's 'fine'", tags: ['@home', 'work'] }),
      post({ id: 'offset', dateCreated: '2024-06-01T12:00:00.000Z', content: 'plain' }),
    ];
    const first = await csvOf(posts);
    const imported: Post[] = [];
    for await (const batch of readImportRows(Readable.from([Buffer.from(first)]), {
      importId: 'imp',
      format: 'csv',
      defaultUserId: 'nobody',
    }))
      imported.push(...batch.posts, ...batch.rejected.map((rejected) => ({ ...post({}), id: `rejected: ${rejected.reason}` })));
    expect(imported).toEqual(posts);
    expect(await csvOf(imported)).toBe(first);
  });

  it('starts with a header row of every column in the default order', async () => {
    const rows = parseCsv(await csvOf([post({})]));
    expect(rows[0]).toEqual([...POST_COLUMNS]);
    expect(rows[1]).toEqual(['p1', 'u1', '2024-06-01T12:00:00.000Z', 'hello', 'a']);
  });

  it('is only the header row when there are no posts', async () => {
    expect(await csvOf([])).toBe('id,userId,dateCreated,content,tags\r\n');
  });

  it('ends every record with CRLF', async () => {
    const csv = await csvOf(makePosts(3));
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')).toHaveLength(5); // header, three rows, empty tail
  });

  it('quotes cells holding commas, quotes and line breaks, and reads back unchanged', async () => {
    const tricky = [
      post({ id: 'comma', content: 'one, two, three' }),
      post({ id: 'quote', content: 'she said "ahoy"' }),
      post({ id: 'lf', content: 'line one\nline two' }),
      post({ id: 'crlf', content: 'line one\r\nline two' }),
      post({ id: 'cr', content: 'line one\rline two' }),
      post({ id: 'all', content: '"a", b\n"c"' }),
    ];
    const csv = await csvOf(tricky);
    expect(csv).toContain('"she said ""ahoy"""');
    const rows = parseCsv(csv).slice(1);
    expect(rows.map((row) => row[3])).toEqual(tricky.map((p) => p.content));
  });

  it('keeps unicode intact as UTF-8', async () => {
    const content = 'Fähre über den Fjord – 渡し船 🚢 ÆØÅ';
    const stream = postsToCsvStream(batchesOf([post({ content })]), exportColumns());
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    expect(bytes.toString('utf8')).toContain(content);
    expect(parseCsv(bytes.toString('utf8'))[1]?.[3]).toBe(content);
  });

  it('joins tags with semicolons', async () => {
    const rows = parseCsv(await csvOf([post({ tags: ['ferry', 'sea', 'news'] }), post({ id: 'p2', tags: [] })]));
    expect(rows[1]?.[4]).toBe('ferry;sea;news');
    expect(rows[2]?.[4]).toBe('');
  });

  it.each(['=', '+', '-', '@', '\t', '\r'])('prefixes a single quote to a cell starting with %j', async (prefix) => {
    const dangerous = `${prefix}HYPERLINK("http://evil.test")`;
    const rows = parseCsv(
      await csvOf([post({ id: `${prefix}1`, userId: `${prefix}u`, content: dangerous, tags: [`${prefix}tag`, 'ok'] })]),
    );
    expect(rows[1]).toEqual([`'${prefix}1`, `'${prefix}u`, '2024-06-01T12:00:00.000Z', `'${dangerous}`, `'${prefix}tag;ok`]);
  });

  it('leaves cells that merely contain a dangerous character elsewhere alone', () => {
    expect(neutraliseFormula('a=b+c-d@e')).toBe('a=b+c-d@e');
    expect(neutraliseFormula(' =1')).toBe(' =1');
    expect(neutraliseFormula("'=1")).toBe("'=1");
    expect(neutraliseFormula('')).toBe('');
  });

  it('writes only the chosen columns, in the chosen order', async () => {
    const rows = parseCsv(await csvOf([post({ content: 'x, y', tags: ['t1', 't2'] })], exportColumns(['tags', 'content', 'id'])));
    expect(rows).toEqual([
      ['tags', 'content', 'id'],
      ['t1;t2', 'x, y', 'p1'],
    ]);
  });

  it('uses every column when the choice is empty or absent', () => {
    expect(exportColumns()).toEqual([...POST_COLUMNS]);
    expect(exportColumns([])).toEqual([...POST_COLUMNS]);
  });

  it('counts the data rows it wrote, not the header', async () => {
    const progress = { rows: 0 };
    await text(postsToCsvStream(batchesOf(makePosts(7), 3), exportColumns(), progress));
    expect(progress.rows).toBe(7);
  });

  it('turns each batch into one chunk after the header chunk, skipping empty batches', async () => {
    async function* batches(): AsyncIterable<Post[]> {
      yield makePosts(2);
      yield [];
      yield makePosts(1);
    }
    const chunks: string[] = [];
    for await (const chunk of csvChunks(batches(), ['id'])) chunks.push(chunk);
    expect(chunks).toEqual(['id\r\n', 'post-0000000\r\npost-0000001\r\n', 'post-0000000\r\n']);
  });

  it('cuts a large batch into chunks of whole rows of at most about 32K characters', async () => {
    const posts = makePosts(1_000).map((p) => ({ ...p, content: 'x'.repeat(200) }));
    async function* oneBatch(): AsyncIterable<Post[]> {
      yield posts;
    }
    const chunks: string[] = [];
    for await (const chunk of csvChunks(oneBatch(), exportColumns())) chunks.push(chunk);
    const rows = chunks.slice(1);
    expect(rows.length).toBeGreaterThan(1);
    for (const chunk of rows) {
      expect(chunk.length).toBeLessThan(32 * 1024 + 300);
      expect(chunk.endsWith('\r\n')).toBe(true);
    }
    expect(parseCsv(chunks.join('')).slice(1)).toEqual(posts.map((p) => recordOf(p, POST_COLUMNS)));
  });

  it('reads a large export back row for row', async () => {
    const posts = makePosts(5_000);
    const rows = parseCsv(await text(postsToCsvStream(batchesOf(posts, 333), exportColumns())));
    expect(rows).toHaveLength(5_001);
    expect(rows.slice(1)).toEqual(posts.map((p) => recordOf(p, POST_COLUMNS)));
    expect(rows[5_000]?.[0]).toBe('post-0004999');
  });

  it('writes byte for byte what csv-stringify writes for awkward cells', () => {
    const cells = [
      '',
      'plain',
      'a,b',
      'say "hi"',
      '"',
      '""',
      'lf\n',
      '\rcr',
      'cr\rlf\n',
      'x\r\ny',
      ',',
      ' lead',
      'trail ',
      "'=1",
      'tab\there',
      'Fähre 渡し船 🚢',
    ];
    const records = cells.map((cell, i) => [cell, String(i), cells[(i + 3) % cells.length] as string]);
    expect(records.map(csvLine).join('')).toBe(stringify(records, { record_delimiter: 'windows', quoted_match: /[\r\n]/ }));
  });

  it('serialises a header line on its own with csvLine', () => {
    expect(csvLine(['a', 'b,c'])).toBe('a,"b,c"\r\n');
  });
});
