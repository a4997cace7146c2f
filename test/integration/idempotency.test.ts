import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportStatusView } from '../../core/contract';
import { clamdMissing, titled } from '../requirements';
import { api, importFile, signIn, useStack } from './client';
import { startStackProcess, type StackProcess } from './stack-process';
import { startAgain, untilEnded } from './history';

/**
 * Work done twice counts once: a processed import whose workflow runs again over the same files (as a
 * redrive, a replayed S3 event or an operator would) leaves the posts and the record as they were.
 */

const word = () => `rerun${randomBytes(4).toString('hex')}`;
const csvOf = (marker: string, rows: number) =>
  ['dateCreated,content,tags', ...Array.from({ length: rows }, (_, i) => `2023-01-0${(i % 9) + 1}T00:00:00Z,Post ${i} about ${marker},${marker}`)].join('\n') + '\n';

async function importStatus(token: string, importId: string): Promise<ImportStatusView> {
  const { status, body } = await api<ImportStatusView>(token, 'GET', `/imports/${importId}`);
  if (status !== 200) throw new Error(`GET /imports/${importId} answered ${status}`);
  return body;
}

async function searchIds(token: string, q: string): Promise<{ total: number; ids: string[] }> {
  const { status, body } = await api<{ total: number; hits: { id: string }[] }>(token, 'GET', `/search?q=${q}&pageSize=100`);
  expect(status).toBe(200);
  return { total: body.total, ids: body.hits.map((hit) => hit.id).sort() };
}

let alice: string;
// Its own stack: posts imported into the shared one would change what the export tests count.
let own: StackProcess | undefined;
beforeAll(async () => {
  own = await startStackProcess('it-idempotency', { SEED_ROWS: '0' });
  useStack(own.info);
  alice = await signIn('alice');
}, 120_000);
afterAll(async () => {
  await own?.stop();
});

describe.skipIf(clamdMissing())(titled('re-running a processed import', clamdMissing()), () => {
  it('a processed import whose workflow runs again imports no post twice, and its record stays as it was', async () => {
    const marker = word();
    const importId = await importFile(alice, csvOf(marker, 12));
    let executionArn: string | undefined;
    await expect.poll(async () => (executionArn = (await importStatus(alice, importId)).executionArn), { timeout: 60_000 }).toBeDefined();
    expect(await untilEnded(executionArn!)).toBe('ExecutionSucceeded');
    const processed = await importStatus(alice, importId);
    expect(processed).toMatchObject({ status: 'SUCCEEDED', rowsImported: 12, rowsRejected: 0 });
    const before = await searchIds(alice, marker);
    expect(before.total).toBe(12);

    const again = await startAgain(executionArn!, `${importId}-again`);
    await untilEnded(again);

    expect(await searchIds(alice, marker)).toEqual(before);
    expect(await importStatus(alice, importId)).toEqual(processed);
  });
});
