import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, pollUntilDone, signIn, statusPath, useStack, type ExportStatusBody } from './client';
import { startStackProcess, type StackProcess } from './stack-process';

/**
 * A sliced export on a stack of its own: 250,000 seeded rows (~207 B a row, ~52 MB of CSV), sliced above
 * 62,500 rows into 4 slices written 2 at a time, against the single task's file of the same search, written
 * by the same stack booted first without slicing over the same data directory (the 2M rows would
 * take this shared 2-core machine minutes to seed; the slicing is the same).
 */
const ROWS = 250_000;
const SLICE_ROWS = 62_500;

let stack: StackProcess | undefined;

afterAll(async () => {
  await stack?.stop();
});

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const statesEntered = async (executionArn: string): Promise<string[]> => {
  const sfn = new SFNClient({ region: process.env.AWS_REGION ?? 'eu-west-1', endpoint: stack?.info.sfnEndpoint, credentials });
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
    for (const event of page.events ?? []) if (event.stateEnteredEventDetails?.name) names.push(event.stateEnteredEventDetails.name);
    nextToken = page.nextToken;
  } while (nextToken);
  return names;
};

/** Starts a direct export of every post and polls it to its end, keeping each progress the status route showed. */
async function exportEverything(token: string) {
  const { status, body } = await api<{ executionArn: string; estimatedRows: number }>(token, 'POST', '/download-request', { type: 'direct', searchCriteria: {} });
  expect(status).toBe(202);
  const progress: NonNullable<ExportStatusBody['progress']>[] = [];
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { body: state } = await api<ExportStatusBody>(token, 'GET', statusPath(body.executionArn));
    if (state.status !== 'RUNNING') break;
    if (state.progress) progress.push(state.progress);
    if (Date.now() > deadline) throw new Error('the export is still running');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const done = await pollUntilDone(token, body.executionArn, 10_000);
  const file = Buffer.from(await (await fetch(done.url ?? '')).arrayBuffer());
  return { executionArn: body.executionArn, done, file, progress };
}

describe('a sliced export', () => {
  let single: Awaited<ReturnType<typeof exportEverything>>;

  beforeAll(async () => {
    stack = await startStackProcess('sliced', { SEED_ROWS: String(ROWS), EXPORT_SLICE_ROWS: 'unlimited' });
    useStack(stack.info);
    single = await exportEverything(await signIn('alice'));
    // The same data, booted again with slicing on (crash() keeps the data directory).
    const dataDir = stack.info.dataDir;
    await stack.crash();
    stack = await startStackProcess('sliced', { SEED_ROWS: String(ROWS), EXPORT_SLICE_ROWS: String(SLICE_ROWS), EXPORT_SLICE_CONCURRENCY: '2' }, dataDir);
    useStack(stack.info);
  }, 600_000);

  it('is byte for byte the single task\'s file of the same search, its row count the search total, and leaves no upload open', async () => {
    expect(await statesEntered(single.executionArn)).not.toContain("Plan the export's slices");
    expect(single.done).toMatchObject({ status: 'SUCCEEDED', rowCount: ROWS });

    const token = await signIn('alice');
    const sliced = await exportEverything(token);
    expect(sliced.done).toMatchObject({ status: 'SUCCEEDED', rowCount: ROWS });
    expect(sliced.file.length).toBe(single.file.length);
    expect(sliced.file.equals(single.file)).toBe(true);

    const entered = await statesEntered(sliced.executionArn);
    expect(entered.filter((name) => name === 'Write one slice')).toHaveLength(4);
    expect(entered.slice(2)).toEqual([
      'Generate CSV report',
      'Is the report sliced?',
      "Plan the export's slices",
      'Write each slice',
      'Write one slice',
      'Write one slice',
      'Write one slice',
      'Write one slice',
      'Assemble the export file',
      'Deliver the assembled file',
      'Record export success',
    ]);
    // Progress covered the slices together: the planned total, and rows that only grew.
    expect(sliced.progress.length).toBeGreaterThan(0);
    expect(new Set(sliced.progress.map((step) => step.totalRows))).toEqual(new Set([ROWS]));
    const rows = sliced.progress.map((step) => step.rowsWritten);
    expect(rows).toEqual([...rows].sort((a, b) => a - b));

    const s3 = new S3Client({ region: 'us-east-1', endpoint: stack!.info.s3Endpoint, forcePathStyle: true, credentials });
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'ferry-exports', Prefix: 'exports/' }));
    expect(open.Uploads ?? []).toEqual([]);
  }, 600_000);
});
