import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { TAG_SEPARATOR } from '../../core/csv';
import { Transient } from '../../core/errors';
import { POST_COLUMNS } from '../../core/model';
import { HOUR, InMemorySearchSource, alice, makeFakeDeps, makePosts } from './fakes';
import { generateCsvReport, recordExportRequest, recordExportSuccess } from '../../core/export/tasks';
import type { ExportJob } from '../../core/export/job';

const job = (overrides: Partial<ExportJob> = {}): ExportJob => ({
  exportId: 'export-0001',
  requestedBy: alice,
  delivery: 'direct',
  searchCriteria: {},
  requestedAt: '2024-06-01T11:59:30.000Z',
  ...overrides,
});

const rowsOf = (csv: string): string[][] => parse(csv, { record_delimiter: '\r\n' });

describe('generating the CSV report', () => {
  it('of 0 rows writes just the header and reports 0 rows', async () => {
    const deps = makeFakeDeps([]);
    const report = await generateCsvReport(deps, job());
    expect(report.rowCount).toBe(0);
    const csv = deps.objects.text(report.bucket, report.key);
    expect(csv).toBe('id,userId,dateCreated,content,tags\r\n');
    expect(report.bytes).toBe(Buffer.byteLength(csv));
  });

  it('of 20,000 rows streams every matching row, newest first, into the exports bucket', async () => {
    const posts = makePosts(20_000);
    const deps = makeFakeDeps(posts);
    const report = await generateCsvReport(deps, job());

    expect(report).toMatchObject({ bucket: 'ferry-exports-test', rowCount: 20_000 });
    const csv = deps.objects.text(report.bucket, report.key);
    expect(report.bytes).toBe(Buffer.byteLength(csv));
    const rows = rowsOf(csv);
    expect(rows).toHaveLength(20_001);
    expect(rows.slice(1)).toEqual(posts.map((post) => POST_COLUMNS.map((column) => (column === 'tags' ? post.tags.join(TAG_SEPARATOR) : post[column]))));
  });

  it('exports only what the criteria match, in the chosen columns', async () => {
    const deps = makeFakeDeps(makePosts(30));
    const report = await generateCsvReport(deps, job({ searchCriteria: { tags: ['sea'] }, columns: ['id', 'tags'] }));
    const rows = rowsOf(deps.objects.text(report.bucket, report.key));
    expect(rows[0]).toEqual(['id', 'tags']);
    expect(report.rowCount).toBe(10);
    expect(rows.slice(1).every((row) => row[1] === 'ferry;sea')).toBe(true);
  });

  it('stores the file under the user id and export id, as a CSV attachment with a friendly name', async () => {
    const deps = makeFakeDeps(makePosts(1));
    const report = await generateCsvReport(deps, job({ searchCriteria: { q: '../../etc/passwd' } }));
    expect(report.key).toBe('exports/user-alice/export-0001.csv');
    expect(deps.objects.objects.get(`ferry-exports-test/${report.key}`)?.options).toEqual({
      contentType: 'text/csv; charset=utf-8',
      contentDisposition: 'attachment; filename="ferry-export-2024-06-01-115930.csv"',
      metadata: { 'export-id': 'export-0001' },
    });
  });

  it('encodes a user id that is not a plain path segment', async () => {
    const deps = makeFakeDeps([]);
    const report = await generateCsvReport(deps, job({ requestedBy: { ...alice, userId: 'a/../b c' } }));
    expect(report.key).toBe('exports/a%2F..%2Fb%20c/export-0001.csv');
  });

  it('says the file expires the configured number of hours after it was written', async () => {
    const deps = makeFakeDeps([]);
    deps.config.exportTtlHours = 24;
    const report = await generateCsvReport(deps, job());
    expect(report.expiresAt).toBe(new Date(deps.clock.now().getTime() + 24 * HOUR).toISOString());
  });

  it('reads from the search only as fast as the store consumes (memory stays flat)', async () => {
    const deps = makeFakeDeps();
    deps.search = new InMemorySearchSource(makePosts(20_000), 100); // 200 batches of ~10 kB
    let chunksConsumed = 0;
    let batchesServedWhenStalled: number | undefined;
    deps.objects.onChunk = async () => {
      chunksConsumed += 1;
      if (chunksConsumed === 3) {
        // The consumer stalls; give the producer every chance to run ahead.
        await new Promise((resolve) => setTimeout(resolve, 50));
        batchesServedWhenStalled = deps.search.batchesServed;
      }
    };
    const report = await generateCsvReport(deps, job());
    expect(report.rowCount).toBe(20_000);
    expect(batchesServedWhenStalled).toBeDefined();
    expect(batchesServedWhenStalled!).toBeLessThan(20);
    expect(deps.search.batchesServed).toBe(200);
  });

  it('fails with the search error when the search fails midway, so a Transient can be retried', async () => {
    const deps = makeFakeDeps(makePosts(2_000));
    deps.search.failure = { error: new Transient('search cluster busy'), afterBatches: 2 };
    await expect(generateCsvReport(deps, job())).rejects.toBeInstanceOf(Transient);
  });
});

describe('auditing an export', () => {
  it('records who asked for what, how, and when, when the export is requested', async () => {
    const deps = makeFakeDeps();
    await recordExportRequest(deps, job({ delivery: 'email', searchCriteria: { q: 'ferry' } }));
    expect([...deps.audit.entries.values()]).toEqual([
      {
        id: 'export:export-0001:REQUESTED',
        kind: 'export',
        userId: 'user-alice',
        username: 'alice',
        delivery: 'email',
        searchCriteria: { q: 'ferry' },
        outcome: 'REQUESTED',
        requestedAt: '2024-06-01T11:59:30.000Z',
        recordedAt: '2024-06-01T12:00:00.000Z',
      },
    ]);
  });

  it('records the executionArn with the request when it is known', async () => {
    const deps = makeFakeDeps();
    await recordExportRequest(deps, job(), 'arn:exec');
    expect([...deps.audit.entries.values()][0]?.executionArn).toBe('arn:exec');
  });

  it('records success with the row count and returns the report as the execution output', async () => {
    const deps = makeFakeDeps();
    const report = { bucket: 'b', key: 'k', rowCount: 12, bytes: 300, expiresAt: '2024-06-04T12:00:00.000Z' };
    const output = await recordExportSuccess(deps, { executionArn: 'arn:exec', job: job(), report });
    expect(output).toEqual(report);
    expect(deps.audit.entries.get('export:export-0001:SUCCEEDED')).toMatchObject({ outcome: 'SUCCEEDED', rowCount: 12, executionArn: 'arn:exec' });
  });

  it('writes one entry per outcome however often a task is retried', async () => {
    const deps = makeFakeDeps();
    await recordExportRequest(deps, job());
    await recordExportRequest(deps, job());
    expect(deps.audit.entries.size).toBe(1);
  });
});
