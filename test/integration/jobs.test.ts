import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportJobView, ExportRequested, ImportJobView, ImportStatusView, JobPage } from '../../core/contract';
import { api, connectForExport, createImport, downloadCsv, importFile, pollUntil, pollUntilDone, signIn, stack, statusPath, useStack } from './client';
import { statesEntered } from './history';
import { startStackProcess, type StackProcess } from './stack-process';

/** Exports and imports as a user's own records (issue 11), through HTTP only. */

/** A small export (one user's travel posts), finished. */
async function finishedExport(token: string, extra: Record<string, unknown> = {}): Promise<ExportRequested> {
  const { status, body } = await api<ExportRequested>(token, 'POST', '/download-request', {
    delivery: 'direct',
    searchCriteria: { userId: 'alice', tags: ['travel'] },
    ...extra,
  });
  expect(status, JSON.stringify(body)).toBe(202);
  expect(body.exportId).toMatch(/^[A-Za-z0-9-]+$/);
  expect(body.executionArn.endsWith(`:${body.exportId}`)).toBe(true);
  expect((await pollUntilDone(token, body.executionArn)).status).toBe('SUCCEEDED');
  return body;
}

const sfnClient = () =>
  new SFNClient({
    region: process.env.AWS_REGION ?? 'eu-west-1',
    endpoint: stack().sfnEndpoint,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });

/** The states an execution has entered so far, in order (GetExecutionHistory, page by page). */

const executionStatus = async (executionArn: string): Promise<string | undefined> =>
  (await sfnClient().send(new DescribeExecutionCommand({ executionArn }))).status;

/** How many calls of each action the local Step Functions service has served. */
async function sfnCalls(): Promise<Record<string, number>> {
  const res = await fetch(`${stack().sfnEndpoint}/_local/api-calls`);
  return (await res.json()) as Record<string, number>;
}

describe('exports as jobs', () => {
  it('lists the caller\'s exports newest first, page by page, with those shared with them marked', async () => {
    const [alice, bob] = await Promise.all([signIn('alice'), signIn('bob')]);
    const first = await finishedExport(alice);
    const second = await finishedExport(alice, { shareWith: ['bob'] });
    const third = await finishedExport(alice);

    const page1 = await api<JobPage<ExportJobView>>(alice, 'GET', '/exports?limit=2');
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((job) => job.exportId)).toEqual([third.exportId, second.exportId]);
    expect(page1.body.cursor).toBeDefined();
    const page2 = await api<JobPage<ExportJobView>>(alice, 'GET', `/exports?limit=2&cursor=${encodeURIComponent(page1.body.cursor!)}`);
    expect(page2.body.items.map((job) => job.exportId)[0]).toBe(first.exportId);
    const shared = page1.body.items[1]!;
    expect(shared).toMatchObject({ kind: 'export', status: 'SUCCEEDED', owner: 'alice', sharedWith: ['bob'], delivery: 'direct' });
    expect(shared.searchSummary).toBe('posts tagged travel by alice');
    expect(shared.rowCount).toBeGreaterThan(0);
    expect(shared.bytes).toBeGreaterThan(0);

    const bobs = await api<JobPage<ExportJobView>>(bob, 'GET', '/exports?limit=100');
    expect(bobs.body.items.find((job) => job.exportId === second.exportId)).toMatchObject({ owner: 'alice', shared: true });
    expect(bobs.body.items.some((job) => job.exportId === first.exportId)).toBe(false);
  });

  it('bob downloads what alice shared with him; carol, a member it was not shared with, gets 404', async () => {
    const [alice, bob, carol] = await Promise.all([signIn('alice'), signIn('bob'), signIn('carol')]);
    const { exportId } = await finishedExport(alice);
    const granted = await api<ExportJobView>(alice, 'POST', `/exports/${exportId}/shares`, { usernames: ['bob'] });
    expect(granted.status).toBe(200);
    expect(granted.body.sharedWith).toEqual(['bob']);

    const job = await api<ExportJobView>(bob, 'GET', `/exports/${exportId}`);
    expect(job.status).toBe(200);
    const csv = await downloadCsv(job.body.url!);
    expect(csv.rows.length).toBe(job.body.rowCount);
    expect(csv.rows.every((row) => row.userId === 'alice')).toBe(true);

    expect((await api(carol, 'GET', `/exports/${exportId}`)).status).toBe(404);
    expect((await api(carol, 'DELETE', `/exports/${exportId}`)).status).toBe(404);
    expect((await api(bob, 'DELETE', `/exports/${exportId}`)).status).toBe(404);

    expect((await api(alice, 'DELETE', `/exports/${exportId}/shares/bob`)).status).toBe(200);
    expect((await api(bob, 'GET', `/exports/${exportId}`)).status).toBe(404);
  });

  it('refuses to share with unknown usernames, naming them, and starts nothing', async () => {
    const alice = await signIn('alice');
    const before = await api<JobPage<ExportJobView>>(alice, 'GET', '/exports?limit=1');
    const { status, body } = await api<{ message: string; field: string }>(alice, 'POST', '/download-request', {
      delivery: 'direct',
      searchCriteria: {},
      shareWith: ['bob', 'nobody-here'],
    });
    expect(status).toBe(400);
    expect(body).toEqual({ message: 'No such user: nobody-here.', field: 'shareWith' });
    const after = await api<JobPage<ExportJobView>>(alice, 'GET', '/exports?limit=1');
    expect(after.body.items[0]?.exportId).toBe(before.body.items[0]?.exportId);
  });

  it('deleting a finished export removes its file and its record', async () => {
    const alice = await signIn('alice');
    const { exportId } = await finishedExport(alice);
    const { body } = await api<ExportJobView>(alice, 'GET', `/exports/${exportId}`);
    expect((await fetch(body.url!)).status).toBe(200);

    const deleted = await api<{ status: string }>(alice, 'DELETE', `/exports/${exportId}`);
    expect(deleted).toEqual({ status: 200, body: { exportId, status: 'DELETED' } });
    expect((await fetch(body.url!)).status).toBe(404);
    expect((await api(alice, 'GET', `/exports/${exportId}`)).status).toBe(404);
  });

  it('status reads, old route and new, make no DescribeExecution call', async () => {
    const alice = await signIn('alice');
    const { exportId, executionArn } = await finishedExport(alice);
    const before = (await sfnCalls()).DescribeExecution ?? 0;
    for (let i = 0; i < 3; i++) {
      expect((await api(alice, 'GET', statusPath(executionArn))).status).toBe(200);
      expect((await api(alice, 'GET', `/exports/${exportId}`)).status).toBe(200);
      expect((await api(alice, 'GET', '/exports')).status).toBe(200);
    }
    expect((await sfnCalls()).DescribeExecution ?? 0).toBe(before);
  });

  it('the WebSocket $connect of a push export checks its owner on the job record, with no DescribeExecution call', async () => {
    const [alice, bob] = await Promise.all([signIn('alice'), signIn('bob')]);
    const { status, body: started } = await api<ExportRequested>(alice, 'POST', '/download-request', {
      delivery: 'push',
      searchCriteria: { userId: 'alice', tags: ['travel'] },
    });
    expect(status).toBe(202);
    const before = (await sfnCalls()).DescribeExecution ?? 0;

    const refused = connectForExport(bob, started.executionArn);
    await expect(refused.message).rejects.toThrow('websocket refused: 404');
    const { socket, message } = connectForExport(alice, started.executionArn);
    try {
      expect(await message).toMatchObject({ type: 'export.ready', executionArn: started.executionArn });
    } finally {
      socket.close();
    }
    expect((await sfnCalls()).DescribeExecution ?? 0).toBe(before);
  });

  it('admins list everyone\'s exports by user and status; members may not', async () => {
    const [alice, admin] = await Promise.all([signIn('alice'), signIn('admin')]);
    const { exportId } = await finishedExport(alice);
    const listed = await api<JobPage<ExportJobView>>(admin, 'GET', '/admin/jobs?user=alice&status=SUCCEEDED&limit=200');
    expect(listed.status).toBe(200);
    expect(listed.body.items.some((job) => job.exportId === exportId)).toBe(true);
    expect(listed.body.items.every((job) => job.owner === 'alice' && job.status === 'SUCCEEDED')).toBe(true);
    expect((await api(alice, 'GET', '/admin/jobs')).status).toBe(403);
  });
});

const s3 = () =>
  new S3Client({ region: 'us-east-1', endpoint: stack().s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

/** Asks until `check` answers something, or gives up after `timeoutMs`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await check();
    if (answer !== undefined) return answer;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('cancelling an export', () => {
  it('mid-upload leaves no object and no incomplete multipart upload, and the job says CANCELLED', async () => {
    const alice = await signIn('alice');
    const client = s3();
    // Every seeded post: a file of several 8 MiB parts, so the upload is multipart.
    const { body: started } = await api<ExportRequested>(alice, 'POST', '/download-request', { delivery: 'direct', searchCriteria: {} });
    const prefix = `exports/alice/${started.exportId}`;
    const pendingUploads = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: 'ferry-exports', Prefix: prefix }))).Uploads ?? [];
    await eventually('a multipart upload under way', async () => ((await pendingUploads()).length > 0 ? true : undefined));

    const cancelled = await api<{ status: string }>(alice, 'DELETE', `/exports/${started.exportId}`);
    expect(cancelled).toEqual({ status: 200, body: { exportId: started.exportId, status: 'CANCELLED' } });

    await eventually('the upload to be aborted', async () => ((await pendingUploads()).length === 0 ? true : undefined));
    // A cancel that came as the last part went up: the task deletes the file it finished as soon as it sees the job cancelled.
    const head = () => client.send(new HeadObjectCommand({ Bucket: 'ferry-exports', Key: `${prefix}.csv` })).catch((error: { name?: string }) => error.name);
    await eventually('no object left', async () => ((await head()) === 'NotFound' ? true : undefined));
    const { body: job } = await api<ExportJobView>(alice, 'GET', `/exports/${started.exportId}`);
    expect(job).toMatchObject({ status: 'CANCELLED', error: 'The export was cancelled.' });
    expect(job).not.toHaveProperty('url');
    expect((await api<{ status: string }>(alice, 'GET', statusPath(started.executionArn))).body.status).toBe('FAILED');
  });
});

describe('imports as jobs', () => {
  // Its own stack: posts imported into the shared one would change what the export tests count.
  let own: StackProcess;
  beforeAll(async () => {
    own = await startStackProcess('it-jobs-imports', { SEED_ROWS: '0' });
    useStack(own.info);
  }, 120_000);
  afterAll(async () => {
    await own?.stop();
  });

  it('lists the caller\'s imports newest first, and no one else\'s', async () => {
    const [alice, bob] = await Promise.all([signIn('alice'), signIn('bob')]);
    const csv = 'id,userId,dateCreated,content,tags\njobs-1,alice,2024-01-01T00:00:00Z,hello,travel\n';
    const first = await importFile(alice, csv);
    // Newest first is by creation time: the second starts once the clock has passed the first's recorded createdAt.
    const { body: firstJob } = await api<ImportStatusView>(alice, 'GET', `/imports/${first}`);
    await pollUntil(async () => Date.now(), (now) => now > Date.parse(firstJob.createdAt));
    const second = await importFile(alice, csv.replace('jobs-1', 'jobs-2'));
    const listed = await api<JobPage<ImportJobView>>(alice, 'GET', '/imports?limit=2');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((job) => job.importId)).toEqual([second, first]);
    expect(listed.body.items[0]).toMatchObject({ kind: 'import', owner: 'alice' });
    const bobs = await api<JobPage<ImportJobView>>(bob, 'GET', '/imports?limit=100');
    expect(bobs.body.items.some((job) => job.importId === first)).toBe(false);
  });

  it('cancelling an import before its upload leaves nothing: it is CANCELLED, says why, and lists as CANCELLED', async () => {
    const alice = await signIn('alice');
    const csv = 'id,userId,dateCreated,content,tags\njobs-cancel-1,alice,2024-01-01T00:00:00Z,never imported,travel\n';
    const created = await createImport(alice, { fileName: 'posts.csv', size: Buffer.byteLength(csv), contentType: 'text/csv', type: 'direct' });
    const cancelled = await api(alice, 'DELETE', `/imports/${created.importId}`);
    expect(cancelled).toEqual({ status: 200, body: { importId: created.importId, status: 'CANCELLED' } });
    const { body: status } = await api<{ status: string; reason?: string }>(alice, 'GET', `/imports/${created.importId}`);
    expect(status).toMatchObject({ status: 'CANCELLED', reason: 'The import was cancelled.', rowsImported: 0 });
    const listed = await api<JobPage<ImportJobView>>(alice, 'GET', '/imports?limit=100');
    expect(listed.body.items.find((job) => job.importId === created.importId)).toMatchObject({ kind: 'import', status: 'CANCELLED' });
    const search = await api<{ total: number }>(alice, 'GET', '/search?q=jobs-cancel-1');
    expect(search.body.total).toBe(0);
  });

  it('cancelling an import part-way through its rows leaves none of them searchable, and the file imported again afterwards is there whole', async () => {
    const alice = await signIn('alice');
    const word = `zq${randomBytes(6).toString('hex')}`;
    // Enough rows that the DELETE lands while they are being staged, long before the commit.
    const rows = 30_000;
    const csv =
      ['dateCreated,content,tags', ...Array.from({ length: rows }, (_, i) => `${new Date(Date.UTC(2023, 0, 1) + i * 60_000).toISOString()},Cancelled post ${i} about ${word},${word}`)].join('\n') + '\n';
    const importId = await importFile(alice, csv);
    const { body: running } = await pollUntil(
      () => api<ImportStatusView>(alice, 'GET', `/imports/${importId}`),
      ({ body }) => body.executionArn !== undefined,
    );
    const executionArn = running.executionArn!;
    await pollUntil(() => statesEntered(executionArn), (names) => names.includes('Import valid rows'));

    expect(await api(alice, 'DELETE', `/imports/${importId}`)).toEqual({ status: 200, body: { importId, status: 'CANCELLED' } });

    const ended = await pollUntil(() => executionStatus(executionArn), (status) => status !== 'RUNNING');
    expect(ended).toBe('ABORTED');
    const { body: status } = await api<ImportStatusView>(alice, 'GET', `/imports/${importId}`);
    expect(status).toMatchObject({ status: 'CANCELLED', reason: 'The import was cancelled.' });
    expect((await api<{ total: number }>(alice, 'GET', `/search?q=${word}&pageSize=1`)).body.total).toBe(0);

    // Uploaded again, the same file imports every row exactly once: nothing of the cancelled one was left behind.
    const again = await importFile(alice, csv);
    const done = await pollUntil(
      async () => (await api<ImportStatusView>(alice, 'GET', `/imports/${again}`)).body,
      (body) => body.status !== 'RUNNING' && body.status !== 'AWAITING_UPLOAD',
      240_000,
    );
    expect(done).toMatchObject({ status: 'SUCCEEDED', rowsImported: rows, rowsRejected: 0 });
    expect((await api<{ total: number }>(alice, 'GET', `/search?q=${word}&pageSize=1`)).body.total).toBe(rows);
  }, 600_000);

  it('deleting a finished import removes it; only its owner may', async () => {
    const [alice, bob] = await Promise.all([signIn('alice'), signIn('bob')]);
    const csv = 'id,userId,dateCreated,content,tags\njobs-del-1,alice,2024-01-01T00:00:00Z,hello,travel\n';
    const importId = await importFile(alice, csv);
    await eventually('the import to finish', async () => {
      const { body } = await api<{ status: string }>(alice, 'GET', `/imports/${importId}`);
      return ['SUCCEEDED', 'FAILED', 'REJECTED', 'QUARANTINED'].includes(body.status) ? body.status : undefined;
    });
    expect((await api(bob, 'DELETE', `/imports/${importId}`)).status).toBe(404);
    expect(await api(alice, 'DELETE', `/imports/${importId}`)).toEqual({ status: 200, body: { importId, status: 'DELETED' } });
    expect((await api(alice, 'GET', `/imports/${importId}`)).status).toBe(404);
    const listed = await api<JobPage<ImportJobView>>(alice, 'GET', '/imports?limit=100');
    expect(listed.body.items.some((job) => job.importId === importId)).toBe(false);
  });
});
