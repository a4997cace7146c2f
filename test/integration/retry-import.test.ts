import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, ImportStatusView } from '../../core/contract';
import { clamdMissing, titled } from '../requirements';
import { api, pollUntil, signIn } from './client';
import { batchWithVanishedFile } from './failed-batch';
import { untilEnded } from './history';

/**
 * The owner's Retry on the shared local stack, through HTTP only: a batch whose second file vanished before
 * its checks read it ends FAILED; its owner retries it as a new execution linked to the original in the
 * audit log, while another user gets 404 and a file that did not fail gets 409.
 */

let alice: string;
let bob: string;
let admin: string;
beforeAll(async () => {
  [alice, bob, admin] = await Promise.all([signIn('alice'), signIn('bob'), signIn('admin')]);
});

describe.skipIf(clamdMissing())(titled("an owner's Retry of a failed import", clamdMissing()), () => {
  it('the owner retries a FAILED import to SUCCEEDED; another user gets 404, a file that did not fail 409', async () => {
    const { batchId, kept, vanishing, vanishingObject, content, s3, executionArn: original } = await batchWithVanishedFile(alice, 'retried');

    expect((await api(bob, 'POST', `/imports/${vanishing.importId}/retry`)).status).toBe(404);
    expect((await api(bob, 'POST', `/imports/${batchId}/retry`)).status).toBe(404);
    expect((await api(alice, 'POST', `/imports/${kept.importId}/retry`)).status).toBe(409);

    // The file is back (a browser would send it again); the owner's Retry runs the failed file under a new name.
    await s3.send(new PutObjectCommand({ ...vanishingObject, Body: content, ContentType: 'text/csv' }));
    const retry = await api<{ executionArn: string }>(alice, 'POST', `/imports/${vanishing.importId}/retry`);
    expect(retry.status).toBe(202);
    expect(retry.body.executionArn).toBe(original.replace(/:[^:]+$/, `:${batchId}-r1`));

    const { body: audit } = await api<{ entries: AuditEntry[] }>(admin, 'GET', '/admin/audit?limit=100');
    expect(audit.entries.find((entry) => entry.id === `import:${batchId}:RETRIED`)).toMatchObject({
      outcome: 'RETRIED',
      executionArn: original,
      retriedBy: retry.body.executionArn,
    });

    expect(await untilEnded(retry.body.executionArn)).toBe('ExecutionSucceeded');
    const after = await pollUntil(
      async () => (await api<ImportStatusView>(alice, 'GET', `/imports/${vanishing.importId}`)).body,
      (file) => file.status === 'SUCCEEDED',
      120_000,
    );
    expect(after.executionArn).toBe(retry.body.executionArn);
    // Nothing failed any more: a second Retry is refused.
    expect((await api(alice, 'POST', `/imports/${vanishing.importId}/retry`)).status).toBe(409);
  });
});
