import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, BatchStatusView, ImportStatusView } from '../../core/contract';
import { clamdMissing, titled } from '../requirements';
import { api, pollUntil, signIn, stack, uploadWithForm, type UploadForm } from './client';
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
    const word = `retried${randomBytes(4).toString('hex')}`;
    const content = `userId,dateCreated,content,tags\nalice,2024-01-01T00:00:00Z,About ${word},${word}\n`;
    const { status: created, body } = await api<{ batchId: string; imports: Array<{ importId: string; upload: UploadForm }> }>(alice, 'POST', '/imports', {
      type: 'direct',
      files: ['kept.csv', 'vanishing.csv'].map((fileName) => ({ fileName, size: Buffer.byteLength(content), contentType: 'text/csv' })),
    });
    expect(created).toBe(201);
    const [kept, vanishing] = body.imports;
    if (!kept || !vanishing) throw new Error('expected two imports');
    const s3 = new S3Client({ region: 'us-east-1', endpoint: stack().s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const vanishingObject = { Bucket: new URL(vanishing.upload.url).pathname.split('/')[1], Key: vanishing.upload.fields.key };

    // The second file arrives, then its object is gone before the batch (started by the last upload) reads it.
    await uploadWithForm(vanishing.upload, content, 'text/csv');
    await pollUntil(
      async () => (await api<ImportStatusView>(alice, 'GET', `/imports/${vanishing.importId}`)).body,
      (file) => file.status === 'RUNNING',
      120_000,
    );
    await s3.send(new DeleteObjectCommand(vanishingObject));
    await uploadWithForm(kept.upload, content, 'text/csv');
    const batch = await pollUntil(
      async () => (await api<BatchStatusView>(alice, 'GET', `/imports/${body.batchId}`)).body,
      (b) => b.status === 'COMPLETED',
      120_000,
    );
    expect(batch.files.map((file) => file.status)).toEqual(['SUCCEEDED', 'FAILED']);
    const original = batch.files[1]?.executionArn ?? '';
    expect(await untilEnded(original)).toBe('ExecutionFailed');

    expect((await api(bob, 'POST', `/imports/${vanishing.importId}/retry`)).status).toBe(404);
    expect((await api(bob, 'POST', `/imports/${body.batchId}/retry`)).status).toBe(404);
    expect((await api(alice, 'POST', `/imports/${kept.importId}/retry`)).status).toBe(409);

    // The file is back (a browser would send it again); the owner's Retry runs the failed file under a new name.
    await s3.send(new PutObjectCommand({ ...vanishingObject, Body: content, ContentType: 'text/csv' }));
    const retry = await api<{ executionArn: string }>(alice, 'POST', `/imports/${vanishing.importId}/retry`);
    expect(retry.status).toBe(202);
    expect(retry.body.executionArn).toBe(original.replace(/:[^:]+$/, `:${body.batchId}-r1`));

    const { body: audit } = await api<{ entries: AuditEntry[] }>(admin, 'GET', '/admin/audit?limit=100');
    expect(audit.entries.find((entry) => entry.id === `import:${body.batchId}:RETRIED`)).toMatchObject({
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
