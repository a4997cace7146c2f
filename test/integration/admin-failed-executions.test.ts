import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BatchStatusView, ExecutionSummaryView } from '../../core/contract';
import { clamdMissing, titled } from '../requirements';
import { api, pollUntil, pollUntilDone, signIn } from './client';
import { batchWithVanishedFile } from './failed-batch';
import { untilEnded } from './history';

/**
 * The admin's failed-executions list on the shared local stack, with a real FAILED execution: a batch
 * whose file vanished before its checks read it. Only FAILED executions are listed, and Retry moves the
 * work on to SUCCEEDED.
 */

let alice: string;
let admin: string;
beforeAll(async () => {
  [alice, admin] = await Promise.all([signIn('alice'), signIn('admin')]);
});

const listed = async (status: string) => {
  const { status: code, body } = await api<{ executions: ExecutionSummaryView[] }>(admin, 'GET', `/admin/executions?status=${status}&limit=100`);
  expect(code).toBe(200);
  return body.executions;
};


describe.skipIf(clamdMissing())(titled('failed executions on the admin API', clamdMissing()), () => {
  it('lists a real failed execution and no other status, and Retry runs it on to SUCCEEDED', async () => {
    // A succeeded execution that must stay off the failed list.
    const { body: exported } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { type: 'direct', searchCriteria: { userId: 'alice', q: 'tea' } });
    expect((await pollUntilDone(alice, exported.executionArn)).status).toBe('SUCCEEDED');

    const { batchId, vanishingObject, content, s3, executionArn: original } = await batchWithVanishedFile(alice, 'failing');

    const failed = await listed('FAILED');
    expect(failed.map((execution) => execution.executionArn)).toContain(original);
    expect(failed.find((execution) => execution.executionArn === original)).toMatchObject({ workflow: 'import', name: batchId, status: 'FAILED' });
    expect(new Set(failed.map((execution) => execution.status))).toEqual(new Set(['FAILED']));
    expect(failed.map((execution) => execution.executionArn)).not.toContain(exported.executionArn);
    expect((await listed('SUCCEEDED')).map((execution) => execution.executionArn)).toContain(exported.executionArn);

    // The file is back (a browser would send it again); Retry runs only the failed file, to SUCCEEDED.
    await s3.send(new PutObjectCommand({ ...vanishingObject, Body: content, ContentType: 'text/csv' }));
    const retry = await api<{ executionArn: string }>(admin, 'POST', `/admin/executions/${encodeURIComponent(original)}/retry`);
    expect(retry.status).toBe(202);
    expect(retry.body.executionArn).toBe(original.replace(/:[^:]+$/, `:${batchId}-r1`));
    expect(await untilEnded(retry.body.executionArn)).toBe('ExecutionSucceeded');

    const after = await pollUntil(
      async () => (await api<BatchStatusView>(alice, 'GET', `/imports/${batchId}`)).body,
      (b) => b.status === 'COMPLETED' && b.files.every((file) => file.status === 'SUCCEEDED'),
      120_000,
    );
    expect(after.files.map((file) => file.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect((await listed('FAILED')).map((execution) => execution.executionArn)).not.toContain(retry.body.executionArn);
    expect((await listed('SUCCEEDED')).map((execution) => execution.executionArn)).toContain(retry.body.executionArn);
  });
});
