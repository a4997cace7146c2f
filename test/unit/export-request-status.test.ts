import { describe, expect, it } from 'vitest';
import { DownloadRequestSchema } from '../../core/model';
import { parseInput } from '../../core/validation';
import { InvalidInput, NotFound, Transient } from '../../core/errors';
import { HOUR, alice, bob, makeFakeDeps, makePosts } from './fakes';
import { exportStatus, requestExport } from '../../core/export/use-cases';
import { cancelOrDeleteExport } from '../../core/export/jobs';
import { handleExportFailure, recordExportRequest } from '../../core/export/tasks';
import type { ExportJob, ExportReport } from '../../core/export/job';
import type { FakeDeps } from './fakes';

/** What "Generate CSV report" writes on the job record once the file exists. */
const fileWritten = (deps: FakeDeps, report: ExportReport) =>
  deps.exportJobs.update(
    'export-0001',
    { status: 'SUCCEEDED', ...report, fileName: 'ferry-export-2024-06-01-120000.csv' },
    deps.clock.now(),
  );

const startedJob = (deps: FakeDeps): ExportJob => deps.executions.started[0]!.input as ExportJob;

async function startedExport(deps = makeFakeDeps()) {
  const { executionArn } = await requestExport(deps, alice, { delivery: 'direct', searchCriteria: { q: 'ferry' } });
  return { deps, executionArn };
}

const reportAt = (expiresAt: string): ExportReport => ({
  bucket: 'ferry-exports-test',
  key: 'exports/user-alice/export-0001.csv',
  rowCount: 42,
  bytes: 4200,
  expiresAt,
});

describe('requesting an export', () => {
  it('starts the export workflow named by a new export id, with the job as input', async () => {
    const deps = makeFakeDeps();
    const { executionArn } = await requestExport(deps, alice, {
      delivery: 'email',
      searchCriteria: { q: 'harbour', tags: ['sea'] },
      columns: ['id', 'content'],
    });
    expect(deps.executions.started).toHaveLength(1);
    const started = deps.executions.started[0]!;
    expect(started.workflow).toBe('export');
    expect(started.name).toBe('export-0001');
    expect(started.executionArn).toBe(executionArn);
    expect(started.input).toEqual({
      exportId: 'export-0001',
      requestedBy: alice,
      delivery: 'email',
      searchCriteria: { q: 'harbour', tags: ['sea'] },
      columns: ['id', 'content'],
      requestedAt: '2024-06-01T12:00:00.000Z',
    } satisfies ExportJob);
  });

  it('leaves columns out of the job when none were chosen', async () => {
    const { deps } = await startedExport();
    expect(deps.executions.started[0]!.input).not.toHaveProperty('columns');
  });

  it('puts a format other than CSV and the Excel choice into the job, and the chosen columns into its record', async () => {
    const deps = makeFakeDeps();
    await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {}, format: 'ndjson', columns: ['id', 'content'] });
    await requestExport(deps, alice, { delivery: 'direct', searchCriteria: {}, excel: true });

    expect(deps.executions.started.map((execution) => execution.input)).toEqual([
      {
        exportId: 'export-0001',
        requestedBy: alice,
        delivery: 'direct',
        searchCriteria: {},
        columns: ['id', 'content'],
        format: 'ndjson',
        requestedAt: '2024-06-01T12:00:00.000Z',
      },
      {
        exportId: 'export-0002',
        requestedBy: alice,
        delivery: 'direct',
        searchCriteria: {},
        excel: true,
        requestedAt: '2024-06-01T12:00:00.000Z',
      },
    ] satisfies ExportJob[]);
    expect([(await deps.exportJobs.get('export-0001'))?.columns, await deps.exportJobs.get('export-0002')]).toEqual([
      ['id', 'content'],
      expect.not.objectContaining({ columns: expect.anything() }),
    ]);
  });

  it("an admin's retry, started without a record, gets one naming the execution it runs again", async () => {
    const deps = makeFakeDeps();
    const original = 'arn:aws:states:us-east-1:123456789012:execution:ferry-export:export-0001';
    const retryArn = 'arn:aws:states:us-east-1:123456789012:execution:ferry-export:export-0001-r1';
    const job: ExportJob = {
      exportId: 'export-0001-r1',
      requestedBy: alice,
      delivery: 'email',
      searchCriteria: { q: 'harbour' },
      columns: ['id'],
      requestedAt: '2024-06-01T11:00:00.000Z',
      retryOf: original,
    };

    await recordExportRequest(deps, job, retryArn);

    expect(await deps.exportJobs.get('export-0001-r1')).toEqual({
      exportId: 'export-0001-r1',
      owner: { userId: alice.userId, username: alice.username, email: alice.email },
      delivery: 'email',
      searchCriteria: { q: 'harbour' },
      columns: ['id'],
      retryOf: original,
      status: 'RUNNING',
      executionArn: retryArn,
      createdAt: '2024-06-01T11:00:00.000Z',
      startedAt: '2024-06-01T12:00:00.000Z',
      updatedAt: '2024-06-01T12:00:00.000Z',
      sharedWith: [],
    });
  });
});

describe('an export too large for one task', () => {
  it('is refused up front with 400 naming the estimate, the limit and how to narrow it, and nothing starts', async () => {
    const deps = makeFakeDeps(makePosts(12));
    const limited = { ...deps, config: { ...deps.config, maxExportRows: 10 } };
    const error = await requestExport(limited, alice, { delivery: 'direct', searchCriteria: {} }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).field).toBe('searchCriteria');
    expect((error as InvalidInput).message).toBe(
      'This search matches about 12 posts; one export writes at most 10. Narrow it with words, tags, a user or a date range.',
    );
    expect(deps.executions.started).toEqual([]);
  });

  it('starts when the search total is exactly the limit', async () => {
    const deps = makeFakeDeps(makePosts(10));
    await requestExport({ ...deps, config: { ...deps.config, maxExportRows: 10 } }, alice, { delivery: 'direct', searchCriteria: {} });
    expect(deps.executions.started).toHaveLength(1);
  });
});

describe('the status of an export', () => {
  it('is RUNNING while the execution runs', async () => {
    const { deps, executionArn } = await startedExport();
    expect(await exportStatus(deps, alice, executionArn)).toEqual({
      executionArn,
      status: 'RUNNING',
      delivery: 'direct',
      requestedAt: '2024-06-01T12:00:00.000Z',
    });
  });

  it('gives a fresh link valid until the file expires, with the row count, once succeeded', async () => {
    const { deps, executionArn } = await startedExport();
    const expiresAt = new Date(deps.clock.now().getTime() + 72 * HOUR).toISOString();
    await fileWritten(deps, reportAt(expiresAt));
    deps.clock.advance(2 * HOUR);

    const status = await exportStatus(deps, alice, executionArn);

    expect(status).toMatchObject({ status: 'SUCCEEDED', rowCount: 42, expiresAt });
    expect(status.url).toMatch(/^https:\/\/objects\.test\/ferry-exports-test\/exports\/user-alice\/export-0001\.csv\?/);
    expect(deps.objects.presigned).toEqual([
      {
        bucket: 'ferry-exports-test',
        key: 'exports/user-alice/export-0001.csv',
        expiresInSeconds: 70 * 3600,
        downloadName: 'ferry-export-2024-06-01-120000.csv',
      },
    ]);
  });

  it('gives no link once the file has expired', async () => {
    const { deps, executionArn } = await startedExport();
    const expiresAt = new Date(deps.clock.now().getTime() + 72 * HOUR).toISOString();
    await fileWritten(deps, reportAt(expiresAt));
    deps.clock.advance(72 * HOUR);

    const status = await exportStatus(deps, alice, executionArn);

    expect(status).toMatchObject({ status: 'SUCCEEDED', rowCount: 42, expiresAt });
    expect(status).not.toHaveProperty('url');
    expect(deps.objects.presigned).toEqual([]);
  });

  it('caps the link at the seven days a presigned URL may live', async () => {
    const { deps, executionArn } = await startedExport();
    await fileWritten(deps, reportAt(new Date(deps.clock.now().getTime() + 30 * 24 * HOUR).toISOString()));
    await exportStatus(deps, alice, executionArn);
    expect(deps.objects.presigned[0]?.expiresInSeconds).toBe(7 * 24 * 3600);
  });

  // The words come from the job record now, written by "Handle export failure" (or the cancel route).
  it.each([
    [
      'failed',
      { Error: 'Error', Cause: 'internal detail' },
      'The export could not be completed because of an unexpected error. The Ferry team has been told.',
    ],
    ['timed out', { Error: 'States.Timeout', Cause: 'internal detail' }, 'The export took too long and was stopped.'],
  ] as const)('is FAILED with plain words when the export %s', async (_, failure, words) => {
    const { deps, executionArn } = await startedExport();
    await handleExportFailure(deps, { executionArn, job: startedJob(deps), failure });
    const status = await exportStatus(deps, alice, executionArn);
    expect(status).toEqual({ executionArn, status: 'FAILED', delivery: 'direct', requestedAt: '2024-06-01T12:00:00.000Z', error: words });
    expect(status.error).not.toContain('internal detail');
  });

  it('is FAILED with "cancelled" once its owner cancelled it', async () => {
    const { deps, executionArn } = await startedExport();
    await cancelOrDeleteExport(deps, alice, 'export-0001');
    expect(await exportStatus(deps, alice, executionArn)).toEqual({
      executionArn,
      status: 'FAILED',
      delivery: 'direct',
      requestedAt: '2024-06-01T12:00:00.000Z',
      error: 'The export was cancelled.',
    });
  });

  it('of a record that failed or was cancelled without saying why (written before errors were kept) says so in words', async () => {
    const { deps, executionArn } = await startedExport();
    const statuses = [];
    for (const status of ['CANCELLED', 'FAILED'] as const) {
      await deps.exportJobs.update('export-0001', { status }, deps.clock.now());
      statuses.push(await exportStatus(deps, alice, executionArn));
    }
    const base = { executionArn, status: 'FAILED', delivery: 'direct', requestedAt: '2024-06-01T12:00:00.000Z' };
    expect(statuses).toEqual([
      { ...base, error: 'The export was cancelled.' },
      { ...base, error: 'The export could not be completed. The Ferry team has been told.' },
    ]);
  });

  it('never asks Step Functions: the status comes from the job record', async () => {
    const { deps, executionArn } = await startedExport();
    deps.executions.executions.clear();
    expect((await exportStatus(deps, alice, executionArn)).status).toBe('RUNNING');
  });

  it("of another user's executionArn is not found", async () => {
    const { deps, executionArn } = await startedExport();
    await expect(exportStatus(deps, bob, executionArn)).rejects.toBeInstanceOf(NotFound);
  });

  it('of an unknown executionArn is not found', async () => {
    const deps = makeFakeDeps();
    await expect(exportStatus(deps, alice, 'arn:aws:states:us-east-1:123456789012:execution:ferry-export:nope')).rejects.toBeInstanceOf(
      NotFound,
    );
  });

  it("of another user's executionArn is not found, in the same words as an unknown one", async () => {
    const { deps, executionArn } = await startedExport();
    await expect(exportStatus(deps, bob, executionArn)).rejects.toThrow(new NotFound('No export with that executionArn.'));
  });

  it('of an executionArn whose record names another execution is not found', async () => {
    const { deps, executionArn } = await startedExport();
    await expect(exportStatus(deps, alice, `${executionArn.replace(/:[^:]+$/, '')}:other:export-0001`)).rejects.toBeInstanceOf(NotFound);
  });

  it('passes a store that cannot answer on as that error, never as "not found"', async () => {
    const { deps, executionArn } = await startedExport();
    deps.exportJobs.get = () => Promise.reject(new Transient('The job store is unavailable.'));
    await expect(exportStatus(deps, alice, executionArn)).rejects.toBeInstanceOf(Transient);
  });

  it('of an execution that is not an export is not found', async () => {
    const deps = makeFakeDeps();
    const { executionArn } = await deps.executions.start('import', 'import-1', { importId: 'import-1', userId: alice.userId });
    await expect(exportStatus(deps, alice, executionArn)).rejects.toBeInstanceOf(NotFound);
  });
});

describe('the download request body', () => {
  it('takes the delivery as `delivery`, or as `type`, the name the contract documented first', () => {
    expect(parseInput(DownloadRequestSchema, { delivery: 'push', searchCriteria: {} })).toEqual({ delivery: 'push', searchCriteria: {} });
    expect(parseInput(DownloadRequestSchema, { type: 'email' })).toEqual({ delivery: 'email', searchCriteria: {} });
  });

  it('names the field that was wrong: the one sent, or `delivery` when neither was', () => {
    const fieldOf = (body: unknown) => {
      try {
        parseInput(DownloadRequestSchema, body);
      } catch (error) {
        if (error instanceof InvalidInput) return error.field;
        throw error;
      }
      return undefined;
    };
    expect(fieldOf({ type: 'fax' })).toBe('type');
    expect(fieldOf({ delivery: 'fax' })).toBe('delivery');
    expect(fieldOf({ searchCriteria: {} })).toBe('delivery');
  });
});
