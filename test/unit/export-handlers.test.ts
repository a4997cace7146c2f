import { describe, expect, it } from 'vitest';
import { makeHandler as emailLinkToUser } from '../../functions/export/email-link-to-user';
import { makeHandler as generateCsvReport } from '../../functions/export/generate-csv-report';
import { makeHandler as handleExportFailure } from '../../functions/export/handle-export-failure';
import { makeHandler as pushLinkToBrowser } from '../../functions/export/push-link-to-browser';
import { makeHandler as recordExportRequest } from '../../functions/export/record-export-request';
import { makeHandler as recordExportSuccess } from '../../functions/export/record-export-success';
import { makeHandler as waitForBrowserConnection } from '../../functions/export/wait-for-browser-connection';
import { alice, makeFakeDeps, makePosts } from './fakes';
import type { ExportJob, ExportReport } from '../../core/export/job';
import { isSliceRequest, type SliceRequest } from '../../core/export/slices';

/** The report of an export small enough for one task (the fakes set no EXPORT_SLICE_ROWS). */
const wholeReport = (answer: ExportReport | SliceRequest): ExportReport => {
  if (isSliceRequest(answer)) throw new Error(`expected a report, got a request to slice ${answer.totalRows} rows`);
  return answer;
};

const job: ExportJob = { exportId: 'export-0001', requestedBy: alice, delivery: 'email', searchCriteria: {}, requestedAt: '2024-06-01T12:00:00.000Z' };
const executionArn = 'arn:aws:states:us-east-1:1:execution:ferry-export:export-0001';

describe('the export task handlers, fed the state the ASL gives them', () => {
  it('"Record export request" audits the job it is given as { executionArn, job }', async () => {
    const deps = makeFakeDeps();
    await recordExportRequest(deps)({ executionArn, job });
    expect(deps.audit.entries.get('export:export-0001:REQUESTED')).toMatchObject({ outcome: 'REQUESTED' });
    expect(deps.audit.entries.get('export:export-0001:REQUESTED')?.executionArn).toBe(executionArn);
  });

  it('"Generate CSV report" returns the report that becomes $.report', async () => {
    const deps = makeFakeDeps(makePosts(3));
    const report = wholeReport(await generateCsvReport(deps)(job));
    expect(report).toMatchObject({ bucket: 'ferry-exports-test', key: 'exports/user-alice/export-0001.csv', rowCount: 3 });
  });

  it('"Email link to user" mails the requester from the job and $.report', async () => {
    const deps = makeFakeDeps(makePosts(3));
    const report = wholeReport(await generateCsvReport(deps)(job));
    await emailLinkToUser(deps)({ ...job, report });
    expect(deps.mailer.to('alice@example.com')).toHaveLength(1);
  });

  it('"Wait for browser connection" parks the token, and "Push link to browser" posts to the connection', async () => {
    const deps = makeFakeDeps(makePosts(3));
    const { executionArn: arn } = await deps.executions.start('export', 'export-0001', { ...job, delivery: 'push' });
    await waitForBrowserConnection(deps)({ taskToken: 'token-1', executionArn: arn });
    expect(deps.rendezvous.byExecution.get(arn)).toEqual({ taskToken: 'token-1' });

    await deps.rendezvous.attachConnection(arn, 'conn-1');
    const report = wholeReport(await generateCsvReport(deps)(job));
    await pushLinkToBrowser(deps)({ executionArn: arn, exportId: job.exportId, requestedBy: alice, connectionId: 'conn-1', report });
    expect(deps.push.posted).toHaveLength(1);
  });

  it('"Push link to browser" succeeds when the connection is gone', async () => {
    const deps = makeFakeDeps();
    deps.push.gone.add('conn-1');
    const report = { bucket: 'b', key: 'k', rowCount: 0, bytes: 36, expiresAt: '2024-06-04T12:00:00.000Z' };
    await expect(
      pushLinkToBrowser(deps)({ executionArn, exportId: job.exportId, requestedBy: alice, connectionId: 'conn-1', report }),
    ).resolves.toBeUndefined();
  });

  it('"Record export success" returns the report as the execution output', async () => {
    const deps = makeFakeDeps();
    const report = { bucket: 'b', key: 'k', rowCount: 1, bytes: 50, expiresAt: '2024-06-04T12:00:00.000Z' };
    expect(await recordExportSuccess(deps)({ executionArn, job: { ...job, report } as ExportJob, report })).toEqual(report);
  });

  it('"Handle export failure" audits and alerts', async () => {
    const deps = makeFakeDeps();
    await handleExportFailure(deps)({ executionArn, job, failure: { Error: 'Transient', Cause: 'busy' } });
    expect(deps.audit.entries.get('export:export-0001:FAILED')).toMatchObject({ error: 'Transient: busy' });
    expect(deps.mailer.sent.map((mail) => mail.to).sort()).toEqual(['admins@example.com', 'alice@example.com']);
  });
});
