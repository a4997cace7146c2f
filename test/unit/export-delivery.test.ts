import { describe, expect, it } from 'vitest';
import { NotFound } from '../../core/errors';
import { HOUR, alice, bob, makeFakeDeps } from './fakes';
import { connectBrowser, disconnectBrowser, waitForBrowserConnection } from '../../core/export/rendezvous';
import { emailLinkToUser, pushLinkToBrowser } from '../../core/export/tasks';
import { requestExport } from '../../core/export/use-cases';
import type { ExportJob, ExportReport } from '../../core/export/job';

const job: ExportJob = {
  exportId: 'export-0001',
  requestedBy: alice,
  delivery: 'email',
  searchCriteria: {},
  requestedAt: '2024-06-01T11:59:30.000Z',
};

const report: ExportReport = {
  bucket: 'ferry-exports-test',
  key: 'exports/user-alice/export-0001.csv',
  rowCount: 20_000,
  bytes: 1_234_567,
  expiresAt: '2024-06-04T12:00:00.000Z',
};

async function pushExport() {
  const deps = makeFakeDeps();
  const { executionArn } = await requestExport(deps, alice, { delivery: 'push', searchCriteria: {} });
  return { deps, executionArn };
}

describe('emailing the link', () => {
  it('sends the user a link valid until the file expires, saying the row count and the expiry', async () => {
    const deps = makeFakeDeps();
    await emailLinkToUser(deps, { ...job, report });

    expect(deps.objects.presigned).toEqual([
      { bucket: report.bucket, key: report.key, expiresInSeconds: 72 * 3600, downloadName: 'ferry-export-2024-06-01-115930.csv' },
    ]);
    expect(deps.mailer.sent).toHaveLength(1);
    const mail = deps.mailer.sent[0]!;
    expect(mail.to).toBe('alice@example.com');
    expect(mail.subject).toContain('20,000 rows');
    const url = 'https://objects.test/ferry-exports-test/exports/user-alice/export-0001.csv?expires=259200&name=ferry-export-2024-06-01-115930.csv';
    expect(mail.text).toContain(url);
    expect(mail.text).toContain('20,000 rows');
    expect(mail.text).toContain('Tuesday, 4 June 2024 at 12:00 UTC');
    expect(mail.html).toContain(`href="${url.replace(/&/g, '&amp;')}"`);
    expect(mail.html).toContain('Tuesday, 4 June 2024 at 12:00 UTC');
  });

  it('says "1 row" for a single row', async () => {
    const deps = makeFakeDeps();
    await emailLinkToUser(deps, { ...job, report: { ...report, rowCount: 1 } });
    expect(deps.mailer.sent[0]?.text).toContain('is ready: 1 row,');
  });

  it('escapes the user name in the HTML part', async () => {
    const deps = makeFakeDeps();
    await emailLinkToUser(deps, { ...job, requestedBy: { ...alice, username: '<b>alice</b>' }, report });
    expect(deps.mailer.sent[0]?.html).toContain('&lt;b&gt;alice&lt;/b&gt;');
  });
});

describe('meeting the browser connection and the waiting task', () => {
  it('resumes the task when the browser connects after the workflow started waiting', async () => {
    const { deps, executionArn } = await pushExport();
    await waitForBrowserConnection(deps, { taskToken: 'token-1', executionArn });
    expect(deps.executions.taskSuccesses).toEqual([]);

    await connectBrowser(deps, alice, executionArn, 'conn-1');

    expect(deps.executions.taskSuccesses).toEqual([{ taskToken: 'token-1', output: { connectionId: 'conn-1' } }]);
  });

  it('resumes the task at once when the browser connected before the workflow started waiting', async () => {
    const { deps, executionArn } = await pushExport();
    await connectBrowser(deps, alice, executionArn, 'conn-1');
    expect(deps.executions.taskSuccesses).toEqual([]);

    await waitForBrowserConnection(deps, { taskToken: 'token-1', executionArn });

    expect(deps.executions.taskSuccesses).toEqual([{ taskToken: 'token-1', output: { connectionId: 'conn-1' } }]);
  });

  it('ignores a token that was already resumed when the browser reconnects', async () => {
    const { deps, executionArn } = await pushExport();
    await waitForBrowserConnection(deps, { taskToken: 'token-1', executionArn });
    await connectBrowser(deps, alice, executionArn, 'conn-1');
    await expect(connectBrowser(deps, alice, executionArn, 'conn-2')).resolves.toBeUndefined();
    expect(deps.executions.taskSuccesses).toHaveLength(1);
    expect(await deps.rendezvous.connectionOf(executionArn)).toBe('conn-2');
  });

  it("refuses a connection to another user's export as not found, and records nothing", async () => {
    const { deps, executionArn } = await pushExport();
    await waitForBrowserConnection(deps, { taskToken: 'token-1', executionArn });
    await expect(connectBrowser(deps, bob, executionArn, 'conn-bob')).rejects.toBeInstanceOf(NotFound);
    expect(deps.executions.taskSuccesses).toEqual([]);
    expect(await deps.rendezvous.connectionOf(executionArn)).toBeUndefined();
  });

  it('checks the owner on the job record: it connects when Step Functions no longer describes the execution', async () => {
    const { deps, executionArn } = await pushExport();
    await waitForBrowserConnection(deps, { taskToken: 'token-1', executionArn });
    deps.executions.executions.clear();
    await connectBrowser(deps, alice, executionArn, 'conn-1');
    expect(deps.executions.taskSuccesses).toEqual([{ taskToken: 'token-1', output: { connectionId: 'conn-1' } }]);
  });

  it('refuses an executionArn whose name is an export of the caller but not that export\'s execution', async () => {
    const { deps, executionArn } = await pushExport();
    const forged = executionArn.replace(':execution:ferry-export:', ':execution:ferry-other:');
    await expect(connectBrowser(deps, alice, forged, 'conn-1')).rejects.toBeInstanceOf(NotFound);
    expect(await deps.rendezvous.connectionOf(forged)).toBeUndefined();
  });

  it('refuses a connection to an unknown export as not found', async () => {
    const deps = makeFakeDeps();
    await expect(connectBrowser(deps, alice, 'arn:nope', 'conn-1')).rejects.toBeInstanceOf(NotFound);
  });

  it('forgets a connection when the browser disconnects', async () => {
    const { deps, executionArn } = await pushExport();
    await connectBrowser(deps, alice, executionArn, 'conn-1');
    await disconnectBrowser(deps, 'conn-1');
    expect(await deps.rendezvous.connectionOf(executionArn)).toBeUndefined();
  });
});

describe('pushing the link to the browser', () => {
  const input = (connectionId: string | null) => ({
    executionArn: 'arn:exec',
    exportId: 'export-0001',
    requestedBy: alice,
    connectionId,
    report,
  });

  it('posts export.ready with a link, the expiry and the row count', async () => {
    const deps = makeFakeDeps();
    const outcome = await pushLinkToBrowser(deps, input('conn-1'));
    expect(outcome).toBe('delivered');
    expect(deps.push.posted).toEqual([
      {
        connectionId: 'conn-1',
        message: {
          type: 'export.ready',
          executionArn: 'arn:exec',
          url: 'https://objects.test/ferry-exports-test/exports/user-alice/export-0001.csv?expires=259200',
          expiresAt: report.expiresAt,
          rowCount: 20_000,
        },
      },
    ]);
  });

  it('does nothing when the browser never connected', async () => {
    const deps = makeFakeDeps();
    expect(await pushLinkToBrowser(deps, input(null))).toBe('no-connection');
    expect(deps.push.posted).toEqual([]);
  });

  it('succeeds when the connection is gone (410), leaving the link to polling', async () => {
    const deps = makeFakeDeps();
    deps.push.gone.add('conn-1');
    expect(await pushLinkToBrowser(deps, input('conn-1'))).toBe('gone');
  });

  it('posts to the connection the browser reconnected on', async () => {
    const deps = makeFakeDeps();
    await deps.rendezvous.attachConnection('arn:exec', 'conn-2');
    await pushLinkToBrowser(deps, input('conn-1'));
    expect(deps.push.posted.map((post) => post.connectionId)).toEqual(['conn-2']);
  });

  it('does not push a link that has already expired', async () => {
    const deps = makeFakeDeps();
    deps.clock.advance(73 * HOUR);
    expect(await pushLinkToBrowser(deps, input('conn-1'))).toBe('no-connection');
    expect(deps.push.posted).toEqual([]);
  });
});
