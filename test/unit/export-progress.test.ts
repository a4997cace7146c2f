import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoExportProgress } from '../../adapters/aws/dynamo-export-progress';
import { Transient } from '../../core/errors';
import { FakeSend, awsError, testCredentials } from './aws-fakes';
import { alice, makeFakeDeps, makePosts } from './fakes';
import { PROGRESS_EVERY_ROWS } from '../../core/export/progress';
import { exportStatus, requestExport } from '../../core/export/use-cases';
import { generateCsvReport } from '../../core/export/tasks';
import type { ExportJob } from '../../core/export/job';

const job = (overrides: Partial<ExportJob> = {}): ExportJob => ({
  exportId: 'export-0001',
  requestedBy: alice,
  delivery: 'direct',
  searchCriteria: {},
  requestedAt: '2024-06-01T11:59:30.000Z',
  ...overrides,
});

/** Collects what the use-case logs with `warn`. */
const warnings = () => {
  const messages: string[] = [];
  return { messages, warn: (_fields: Record<string, unknown>, message: string) => void messages.push(message) };
};

describe('progress of the CSV report', () => {
  it('is recorded as rows are written, growing towards the total, without recording every batch', async () => {
    const deps = makeFakeDeps(makePosts(100_000));
    const report = await generateCsvReport(deps, job());
    const records = deps.exportProgress.history;

    expect(records.length).toBeGreaterThanOrEqual(4);
    expect(records.length).toBeLessThanOrEqual(2 + 100_000 / PROGRESS_EVERY_ROWS);
    expect(records.every((record) => record.exportId === 'export-0001' && record.updatedAt === '2024-06-01T12:00:00.000Z')).toBe(true);
    const rows = records.map((record) => record.rowsWritten);
    expect(rows).toEqual([...rows].sort((a, b) => a - b));
    expect(rows.at(-1)).toBeGreaterThan(50_000);
    expect(rows.at(-1)).toBeLessThanOrEqual(report.rowCount);
    expect(records.filter((record) => record.totalRows !== undefined).every((record) => record.totalRows === 100_000)).toBe(true);
    expect(records.at(-1)?.totalRows).toBe(100_000);
  });

  it('counts only the rows the criteria match as the total', async () => {
    const deps = makeFakeDeps(makePosts(30));
    const report = await generateCsvReport(deps, job({ searchCriteria: { tags: ['sea'] } }));
    expect(report.rowCount).toBe(10);
    expect(deps.exportProgress.history.some((record) => record.totalRows === 10)).toBe(true);
  });

  it('is also recorded every couple of seconds, whatever the row count', async () => {
    const deps = makeFakeDeps(makePosts(3_000));
    const served = deps.search.scan.bind(deps.search);
    deps.search.scan = async function* (criteria, options) {
      for await (const batch of served(criteria, { ...options, batchSize: 100 })) {
        deps.clock.advance(1_000);
        yield batch;
      }
    };
    await generateCsvReport(deps, job());
    // 30 batches, one second apart: well under PROGRESS_EVERY_ROWS, so only time triggers a record.
    expect(deps.exportProgress.history.length).toBeGreaterThanOrEqual(10);
    expect(deps.exportProgress.history.length).toBeLessThanOrEqual(20);
  });

  it('failing to record does not fail the export, and is logged', async () => {
    const deps = makeFakeDeps(makePosts(50_000));
    deps.exportProgress.failure = new Transient('progress table throttled');
    const log = warnings();
    const report = await generateCsvReport({ ...deps, log }, job());
    expect(report.rowCount).toBe(50_000);
    expect(deps.objects.text(report.bucket, report.key).split('\r\n')).toHaveLength(50_002);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.messages.length).toBeGreaterThan(0);
    expect(log.messages.every((message) => message.startsWith('Could not record export progress'))).toBe(true);
  });

  it('a progress store that throws at once or never answers does not hold the export up', async () => {
    for (const record of [
      () => {
        throw new Error('no database');
      },
      () => new Promise<void>(() => {}),
    ]) {
      const deps = makeFakeDeps(makePosts(30_000));
      deps.exportProgress.record = record;
      const report = await generateCsvReport({ ...deps, log: warnings() }, job());
      expect(report.rowCount).toBe(30_000);
    }
  });

  it('goes without a total when the count fails, and the export still succeeds', async () => {
    const deps = makeFakeDeps(makePosts(30_000));
    deps.search.search = async () => {
      throw new Transient('count timed out');
    };
    const log = warnings();
    const report = await generateCsvReport({ ...deps, log }, job());
    expect(report.rowCount).toBe(30_000);
    expect(deps.exportProgress.history.length).toBeGreaterThan(0);
    expect(deps.exportProgress.history.every((record) => record.totalRows === undefined)).toBe(true);
    expect(log.messages).toContain('Could not count the rows to export; progress goes without a total');
  });
});

describe('the status of a running export', () => {
  it('carries the latest progress while RUNNING, and none once finished', async () => {
    const deps = makeFakeDeps();
    const { executionArn } = await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {} });
    expect(await exportStatus(deps, alice, executionArn)).not.toHaveProperty('progress');

    await deps.exportProgress.record('export-0001', { rowsWritten: 12_345, totalRows: 50_000, updatedAt: '2024-06-01T12:00:02.000Z' });
    expect((await exportStatus(deps, alice, executionArn)).progress).toEqual({ rowsWritten: 12_345, totalRows: 50_000 });

    await deps.exportProgress.record('export-0001', { rowsWritten: 20_000, updatedAt: '2024-06-01T12:00:04.000Z' });
    expect((await exportStatus(deps, alice, executionArn)).progress).toEqual({ rowsWritten: 20_000 });

    // "Generate CSV report" finishes: the job record says SUCCEEDED as soon as the file exists.
    await generateCsvReport(deps, job({ requestedAt: '2024-06-01T12:00:00.000Z' }));
    const status = await exportStatus(deps, alice, executionArn);
    expect(status.status).toBe('SUCCEEDED');
    expect(status).not.toHaveProperty('progress');
  });

  it('is still answered, without progress, when the progress cannot be read', async () => {
    const deps = makeFakeDeps();
    const { executionArn } = await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {} });
    deps.exportProgress.failure = new Transient('progress table unavailable');
    const log = warnings();
    const status = await exportStatus({ ...deps, log }, alice, executionArn);
    expect(status.status).toBe('RUNNING');
    expect(status).not.toHaveProperty('progress');
    expect(log.messages).toEqual(['Could not read export progress']);
  });
});

describe('DynamoExportProgress', () => {
  const now = new Date('2024-06-01T12:00:00.000Z');
  const connect = (fake: FakeSend) =>
    new DynamoExportProgress(
      fake.install(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: testCredentials }))),
      'ferry-connections',
      () => now,
    );

  it('puts one PROGRESS# item per export in the connections table, living a day, and reads it back', async () => {
    const items = new Map<string, Record<string, unknown>>();
    const keyOf = (key: Record<string, unknown>) => `${String(key.pk)}|${String(key.sk)}`;
    const fake = new FakeSend()
      .on('PutCommand', ({ input }) => {
        const item = input.Item as Record<string, unknown>;
        items.set(keyOf(item), item);
        return {};
      })
      .on('GetCommand', ({ input }) => ({ Item: items.get(keyOf(input.Key as Record<string, unknown>)) }));
    const progress = connect(fake);

    expect(await progress.get('export-0001')).toBeUndefined();
    await progress.record('export-0001', { rowsWritten: 12_345, totalRows: 50_000, updatedAt: '2024-06-01T12:00:02.000Z' });
    await progress.record('export-0002', { rowsWritten: 7, updatedAt: '2024-06-01T12:00:03.000Z' });

    expect(fake.named('PutCommand')[0]!.input).toEqual({
      TableName: 'ferry-connections',
      Item: {
        pk: 'PROGRESS#export-0001',
        sk: 'PROGRESS',
        rowsWritten: 12_345,
        totalRows: 50_000,
        updatedAt: '2024-06-01T12:00:02.000Z',
        expiresAt: now.getTime() / 1000 + 24 * 60 * 60,
      },
    });
    expect(fake.named('PutCommand')[1]!.input.Item).not.toHaveProperty('totalRows');
    expect(await progress.get('export-0001')).toEqual({ rowsWritten: 12_345, totalRows: 50_000, updatedAt: '2024-06-01T12:00:02.000Z' });
    expect(await progress.get('export-0002')).toEqual({ rowsWritten: 7, updatedAt: '2024-06-01T12:00:03.000Z' });
    expect(fake.named('GetCommand').at(-1)!.input).toEqual({
      TableName: 'ferry-connections',
      Key: { pk: 'PROGRESS#export-0002', sk: 'PROGRESS' },
    });
  });

  it('turns throttling into Transient', async () => {
    const fake = new FakeSend()
      .on('PutCommand', () => {
        throw awsError('ProvisionedThroughputExceededException', 400);
      })
      .on('GetCommand', () => {
        throw awsError('ThrottlingException', 400);
      });
    const progress = connect(fake);
    await expect(progress.record('export-0001', { rowsWritten: 1, updatedAt: now.toISOString() })).rejects.toBeInstanceOf(Transient);
    await expect(progress.get('export-0001')).rejects.toBeInstanceOf(Transient);
  });
});
