import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, downloadCsv, pollUntilDone, signIn, useStack } from './client';
import { startStackProcess, type StackProcess } from './stack-process';

/** A stack of its own, killed with SIGKILL mid-export and restarted over the same data directory. */
const ROWS = 100_000;
// No clamd is started (a SIGKILLed stack would orphan it); exports do not scan.
const ENV = { SEED_ROWS: String(ROWS), CLAMD_HOST: '127.0.0.1', CLAMD_PORT: '9' };

let stack: StackProcess | undefined;

beforeAll(async () => {
  stack = await startStackProcess('crash', ENV);
  useStack(stack.info);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

const statesEntered = async (executionArn: string): Promise<string[]> => {
  const sfn = new SFNClient({
    region: process.env.AWS_REGION ?? 'eu-west-1',
    endpoint: stack?.info.sfnEndpoint,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
    for (const event of page.events ?? []) if (event.stateEnteredEventDetails?.name) names.push(event.stateEnteredEventDetails.name);
    nextToken = page.nextToken;
  } while (nextToken);
  return names;
};

describe('a stack killed mid-export', () => {
  it('resumes the export after a restart and delivers every row exactly once', async () => {
    const token = await signIn('alice');
    const { body: search } = await api<{ total: number }>(token, 'GET', '/search?page=1&pageSize=1');
    expect(search.total).toBe(ROWS);
    const { status, body } = await api<{ executionArn: string }>(token, 'POST', '/download-request', { type: 'direct', searchCriteria: {} });
    expect(status).toBe(202);
    const { executionArn } = body;

    // Kill it as soon as the CSV task has started, well before its 100,000 rows are written.
    const deadline = Date.now() + 120_000;
    while (!(await statesEntered(executionArn)).includes('Generate CSV report')) {
      if (Date.now() > deadline) throw new Error('the export never reached its CSV task');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const dataDir = stack!.info.dataDir;
    await stack!.crash();

    stack = await startStackProcess('crash', ENV, dataDir);
    useStack(stack.info);
    const again = await signIn('alice');
    const done = await pollUntilDone(again, executionArn, 240_000);

    expect(done).toMatchObject({ status: 'SUCCEEDED', rowCount: ROWS });
    const { rows } = await downloadCsv(done.url ?? '');
    expect(rows).toHaveLength(ROWS);
    expect(new Set(rows.map((row) => row.id)).size).toBe(ROWS);
    const entered = await statesEntered(executionArn);
    // The interrupted task ran twice: once before the kill, once after the restart.
    expect(entered.filter((name) => name === 'Generate CSV report')).toHaveLength(2);
  }, 600_000);
});
