import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ListMultipartUploadsCommand, ListPartsCommand, S3Client, type Part } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, pollUntilDone, signIn, statusPath, useStack, type ExportStatusBody } from './client';
import { startStackProcess, type StackProcess } from './stack-process';

/**
 * A sliced export on a stack of its own: 250,000 seeded rows (~207 B a row, ~52 MB of CSV), sliced above
 * 62,500 rows into 4 slices written 2 at a time, against the single task's file of the same search, written
 * by the same stack booted first without slicing over the same data directory (the 2M rows would
 * take this shared 2-core machine minutes to seed; the slicing is the same: `SLICED_EXPORT_ROWS=2000000 npx vitest
 * run test/integration/sliced-export.test.ts` runs them, still in 4 slices). Then the same data in 2 slices of
 * three 8 MiB parts each, one slice at a time, with the stack killed once the first part is in the upload.
 */
const ROWS = Number(process.env.SLICED_EXPORT_ROWS ?? 250_000);
const SLICE_ROWS = Math.ceil(ROWS / 4);
/** Timeouts grow with the rows: the defaults hold 250,000 rows on the shared 2-core machine with room. */
const SCALE = Math.max(1, ROWS / 250_000);

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
  const deadline = Date.now() + 300_000 * SCALE;
  for (;;) {
    const { body: state } = await api<ExportStatusBody>(token, 'GET', statusPath(body.executionArn));
    if (state.status !== 'RUNNING') break;
    if (state.progress) progress.push(state.progress);
    if (Date.now() > deadline) throw new Error('the export is still running');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const done = await pollUntilDone(token, body.executionArn, 10_000 * SCALE);
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
  }, 600_000 * SCALE);

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
  }, 600_000 * SCALE);

  it('killed mid-slice, resumes after the parts already written (never from zero) and still writes the same file', async () => {
    const s3 = () => new S3Client({ region: 'us-east-1', endpoint: stack!.info.s3Endpoint, forcePathStyle: true, credentials });
    const openUpload = async () => (await s3().send(new ListMultipartUploadsCommand({ Bucket: 'ferry-exports', Prefix: 'exports/' }))).Uploads?.[0];
    const partsOf = async (upload: { Key?: string; UploadId?: string }): Promise<Part[]> =>
      (await s3().send(new ListPartsCommand({ Bucket: 'ferry-exports', Key: upload.Key, UploadId: upload.UploadId }))).Parts ?? [];
    // ~26 MB a slice at ~207 B a row: parts of 8 MiB, the first sent (and checkpointed) once the second is cut.
    const env = { SEED_ROWS: String(ROWS), EXPORT_SLICE_ROWS: String(Math.ceil(ROWS / 2)), EXPORT_SLICE_CONCURRENCY: '1' };
    const sliceCheckpoint = async (exportId: string, slice: number) => {
      const dynamo = new DynamoDBClient({ region: process.env.AWS_REGION ?? 'eu-west-1', endpoint: stack!.info.dynamoEndpoint, credentials });
      const table = (await dynamo.send(new ListTablesCommand({}))).TableNames?.find((name) => /connections/i.test(name));
      const { Item } = await DynamoDBDocumentClient.from(dynamo).send(new GetCommand({ TableName: table, Key: { pk: `PROGRESS#${exportId}`, sk: 'PROGRESS' } }));
      return Item?.[`slice${slice}Checkpoint`] as { parts: number; rows: number } | undefined;
    };
    const restart = async () => {
      const dataDir = stack!.info.dataDir;
      await stack!.crash();
      stack = await startStackProcess('sliced', env, dataDir);
      useStack(stack.info);
    };
    await restart();
    const { status, body } = await api<{ executionArn: string; exportId: string }>(await signIn('alice'), 'POST', '/download-request', { type: 'direct', searchCriteria: {} });
    expect(status).toBe(202);

    // Kill the stack once the first slice has checkpointed a part (its progress item in DynamoDB, read by the SDK).
    const deadline = Date.now() + 120_000 * SCALE;
    let checkpoint: { parts: number; rows: number } | undefined;
    while (!checkpoint) {
      if (Date.now() > deadline) throw new Error('the first slice never checkpointed a part');
      checkpoint = await sliceCheckpoint(body.exportId, 0);
      if (!checkpoint) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const upload = await openUpload();
    if (!upload) throw new Error('no upload is open mid-export');
    const parts = checkpoint.parts;
    const checkpointed = (listed: Part[]) =>
      listed.filter((part) => (part.PartNumber ?? 0) <= parts).map(({ PartNumber, ETag, LastModified, Size }) => ({ PartNumber, ETag, LastModified, Size }));
    const before = checkpointed(await partsOf(upload));
    await restart();
    expect(checkpoint.rows).toBeLessThan(ROWS / 2);
    expect(before.map((part) => part.PartNumber)).toEqual(Array.from({ length: parts }, (_, i) => i + 1));

    // After the restart the first slice goes on with its next part; the parts it had checkpointed are not sent again.
    let after: Part[] = [];
    while (!after.some((part) => (part.PartNumber ?? 0) > parts)) {
      if (Date.now() > deadline) throw new Error('the resumed slice wrote no further part');
      if (!(await openUpload())) throw new Error('the export completed before its resumed upload could be listed');
      after = await partsOf(upload);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(checkpointed(after)).toEqual(before);

    const done = await pollUntilDone(await signIn('alice'), body.executionArn, 240_000 * SCALE);
    expect(done).toMatchObject({ status: 'SUCCEEDED', rowCount: ROWS });
    const file = Buffer.from(await (await fetch(done.url ?? '')).arrayBuffer());
    expect(file.equals(single.file)).toBe(true);
    const entered = await statesEntered(body.executionArn);
    // The first slice's task ran twice (before the kill and after the restart), the second once.
    expect(entered.filter((name) => name === 'Write one slice')).toHaveLength(3);
  }, 900_000 * SCALE);
});
