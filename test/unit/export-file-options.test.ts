import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../core/errors';
import { contentTypeOf, exportFileStream, fileExtensionOf, fileOptionsOf, type ExportFileOptions } from '../../core/export/file-format';
import type { ExportJob } from '../../core/export/job';
import { generateCsvReport } from '../../core/export/tasks';
import { requestExport } from '../../core/export/use-cases';
import { DownloadRequestSchema, type Post, type PostColumn } from '../../core/model';
import { parseInput } from '../../core/validation';
import { alice, makeFakeDeps, makePosts } from './fakes';

async function* batchesOf(posts: Post[], size = 2): AsyncIterable<Post[]> {
  for (let i = 0; i < posts.length; i += size) yield posts.slice(i, i + size);
}

const options = (overrides: Partial<ExportFileOptions> = {}): ExportFileOptions => ({ format: 'csv', excel: false, gzip: false, ...overrides });
const fileOf = (posts: Post[], fileOptions: ExportFileOptions, columns: PostColumn[] = ['id', 'content', 'tags']) =>
  buffer(exportFileStream(batchesOf(posts), columns, fileOptions));

const risky: Post = { id: 'p1', userId: 'u1', dateCreated: '2024-06-01T12:00:00.000Z', content: '=HYPERLINK("x") café\nline two', tags: ['a', 'b'] };

const job = (overrides: Partial<ExportJob> = {}): ExportJob => ({
  exportId: 'export-0001',
  requestedBy: alice,
  delivery: 'direct',
  searchCriteria: {},
  requestedAt: '2024-06-01T11:59:30.000Z',
  ...overrides,
});

describe('the export file options', () => {
  it('default to a plain CSV when a job names none (jobs written before the options existed)', () => {
    expect(fileOptionsOf({})).toEqual({ format: 'csv', excel: false, gzip: false });
  });

  it('name the file extension and content type of each format', () => {
    expect([fileExtensionOf(options()), contentTypeOf(options())]).toEqual(['.csv', 'text/csv; charset=utf-8']);
    expect([fileExtensionOf(options({ format: 'ndjson' })), contentTypeOf(options({ format: 'ndjson' }))]).toEqual([
      '.ndjson',
      'application/x-ndjson; charset=utf-8',
    ]);
    expect([fileExtensionOf(options({ gzip: true })), contentTypeOf(options({ gzip: true }))]).toEqual(['.csv.gz', 'application/gzip']);
    expect(fileExtensionOf(options({ format: 'ndjson', gzip: true }))).toBe('.ndjson.gz');
  });
});

describe('an export file', () => {
  it('in CSV keeps the header, CRLF records and the formula guard', async () => {
    const csv = (await fileOf([risky], options())).toString('utf8');
    expect(csv.startsWith('id,content,tags\r\n')).toBe(true);
    expect(parse(csv, { record_delimiter: '\r\n' })).toEqual([
      ['id', 'content', 'tags'],
      ['p1', `'=HYPERLINK("x") café\nline two`, 'a;b'],
    ]);
  });

  it('for Excel starts with the UTF-8 byte order mark, then the same CSV', async () => {
    const plain = await fileOf([risky], options());
    const excel = await fileOf([risky], options({ excel: true }));
    expect([...excel.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(excel.subarray(3).equals(plain)).toBe(true);
  });

  it('in NDJSON is one JSON object per line with the chosen columns, tags as an array, and no header or formula guard', async () => {
    const ndjson = (await fileOf([risky, { ...risky, id: 'p2', tags: [] }], options({ format: 'ndjson' }))).toString('utf8');
    expect(ndjson.endsWith('\n')).toBe(true);
    const lines = ndjson.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual([
      { id: 'p1', content: '=HYPERLINK("x") café\nline two', tags: ['a', 'b'] },
      { id: 'p2', content: '=HYPERLINK("x") café\nline two', tags: [] },
    ]);
    expect(Object.keys(lines[0] as object)).toEqual(['id', 'content', 'tags']);
  });

  it('compressed with gzip unpacks to exactly the uncompressed file, in either format', async () => {
    const posts = makePosts(500);
    for (const format of ['csv', 'ndjson'] as const) {
      const plain = await fileOf(posts, options({ format }));
      const gzipped = await fileOf(posts, options({ format, gzip: true }));
      expect([...gzipped.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      expect(gunzipSync(gzipped).equals(plain)).toBe(true);
    }
  });

  it('compressed fails as a stream when reading the search fails, so no partial file is taken for a whole one', async () => {
    async function* failing(): AsyncIterable<Post[]> {
      yield makePosts(3);
      throw new Error('search went away');
    }
    await expect(buffer(exportFileStream(failing(), ['id'], options({ gzip: true })))).rejects.toThrow('search went away');
  });
});

describe('generating a report with file options', () => {
  it('writes an NDJSON file under its own extension, type and download name', async () => {
    const deps = makeFakeDeps(makePosts(5));
    const report = await generateCsvReport(deps, job({ format: 'ndjson' }));
    expect(report.key).toBe('exports/user-alice/export-0001.ndjson');
    expect(report.rowCount).toBe(5);
    const stored = deps.objects.objects.get(`ferry-exports-test/${report.key}`)!;
    expect(stored.options.contentType).toBe('application/x-ndjson; charset=utf-8');
    expect(stored.options.contentDisposition).toBe('attachment; filename="ferry-export-2024-06-01-115930.ndjson"');
    expect(stored.body.toString('utf8').trimEnd().split('\n')).toHaveLength(5);
  });

  it('writes a gzipped Excel CSV as .csv.gz, reporting the compressed size', async () => {
    const deps = makeFakeDeps(makePosts(50));
    const report = await generateCsvReport(deps, job({ excel: true, gzip: true }));
    expect(report.key).toBe('exports/user-alice/export-0001.csv.gz');
    const stored = deps.objects.objects.get(`ferry-exports-test/${report.key}`)!;
    expect(stored.options.contentType).toBe('application/gzip');
    expect(stored.options.contentDisposition).toBe('attachment; filename="ferry-export-2024-06-01-115930.csv.gz"');
    expect(report.bytes).toBe(stored.body.length);
    const csv = gunzipSync(stored.body).toString('utf8');
    expect(csv.startsWith('\uFEFFid,userId,dateCreated,content,tags\r\n')).toBe(true);
    expect(parse(csv, { record_delimiter: '\r\n', bom: true })).toHaveLength(51);
  });
});

describe('an export request', () => {
  const body = (extra: Record<string, unknown>) => ({ delivery: 'direct', ...extra });

  it('accepts the format, excel and gzip options', () => {
    expect(parseInput(DownloadRequestSchema, body({ format: 'ndjson', gzip: true }))).toMatchObject({ format: 'ndjson', gzip: true });
    expect(parseInput(DownloadRequestSchema, body({ excel: true }))).toMatchObject({ excel: true });
  });

  it('refuses an unknown format, a non-boolean option, and excel with ndjson, naming the field', () => {
    const fieldOf = (extra: Record<string, unknown>) => {
      try {
        parseInput(DownloadRequestSchema, body(extra));
        return undefined;
      } catch (error) {
        return (error as InvalidInput).field;
      }
    };
    expect(fieldOf({ format: 'xlsx' })).toBe('format');
    expect(fieldOf({ gzip: 'yes' })).toBe('gzip');
    expect(fieldOf({ format: 'ndjson', excel: true })).toBe('excel');
  });

  it('puts only the options that differ from the default into the job', async () => {
    const deps = makeFakeDeps(makePosts(3));
    await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {}, format: 'csv', excel: false, gzip: true });
    const started = deps.executions.started[0]!.input as ExportJob;
    expect(started).toMatchObject({ gzip: true });
    expect(started).not.toHaveProperty('format');
    expect(started).not.toHaveProperty('excel');
  });

  it('answers how many rows the search matched', async () => {
    const deps = makeFakeDeps(makePosts(30));
    expect(await requestExport(deps, alice, { delivery: 'direct', searchCriteria: { tags: ['sea'] } })).toMatchObject({ estimatedRows: 10 });
  });

  it('of an invalid search (from after to) is refused naming searchCriteria.from, and nothing starts', async () => {
    const deps = makeFakeDeps(makePosts(3));
    const error = await requestExport(deps, alice, { delivery: 'direct', searchCriteria: { from: '2024-06-02', to: '2024-06-01' } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).field).toBe('searchCriteria.from');
    expect(deps.executions.started).toEqual([]);
  });
});
