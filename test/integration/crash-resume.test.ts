import { randomBytes } from 'node:crypto';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clamdMissing, titled } from '../requirements';
import { api, downloadCsv, importFile, pollUntilDone, signIn, useStack } from './client';
import { startStackProcess, type StackProcess } from './stack-process';

/**
 * A stack of its own, killed with SIGKILL (its whole process group: tsx, node, clamd) mid-export and
 * mid-import, and restarted over the same data directory.
 */
const ROWS = 100_000;
const ENV = { SEED_ROWS: String(ROWS) };

let stack: StackProcess | undefined;

beforeAll(async () => {
  stack = await startStackProcess('crash', ENV);
  useStack(stack.info);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

/** Kills the stack and boots it again over the same data directory; the helpers then talk to the new one. */
const crashAndRestart = async () => {
  const dataDir = stack!.info.dataDir;
  await stack!.crash();
  stack = await startStackProcess('crash', ENV, dataDir);
  useStack(stack.info);
};

const untilEntered = async (executionArn: string, stateName: string) => {
  const deadline = Date.now() + 120_000;
  while (!(await statesEntered(executionArn)).includes(stateName)) {
    if (Date.now() > deadline) throw new Error(`the execution never entered "${stateName}"`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

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
    await untilEntered(executionArn, 'Generate CSV report');
    await crashAndRestart();
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

describe.skipIf(clamdMissing())(titled('a stack killed mid-import', clamdMissing()), () => {
  it('resumes the import after a restart and indexes each row exactly once', async () => {
    const token = await signIn('alice');
    const word = `zq${randomBytes(6).toString('hex')}`;
    const rows = 20_000;
    const content =
      ['dateCreated,content,tags', ...Array.from({ length: rows }, (_, i) => `${new Date(Date.UTC(2023, 0, 1) + i * 60_000).toISOString()},Crash post ${i} about ${word},${word}`)].join('\n') +
      '\n';
    const importId = await importFile(token, content);

    const executionArn = await pollFor(async () => (await api<{ executionArn?: string }>(token, 'GET', `/imports/${importId}`)).body.executionArn);
    await untilEntered(executionArn, 'Import valid rows');
    await crashAndRestart();

    const again = await signIn('alice');
    const done = await pollFor(async () => {
      const { body } = await api<{ status: string; rowsImported?: number }>(again, 'GET', `/imports/${importId}`);
      return body.status === 'RUNNING' || body.status === 'AWAITING_UPLOAD' ? undefined : body;
    });
    expect(done).toMatchObject({ status: 'SUCCEEDED', rowsImported: rows, rowsRejected: 0 });
    const { body: search } = await api<{ total: number }>(again, 'GET', `/search?q=${word}&pageSize=1`);
    expect(search.total).toBe(rows);
    // The Map (the top-level state around the interrupted task) ran again after the restart.
    const entered = await statesEntered(executionArn);
    expect(entered.filter((name) => name === 'Import valid rows')).toHaveLength(2);
  }, 600_000);
});

const pollFor = async <T>(read: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
