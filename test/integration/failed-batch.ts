import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import type { BatchStatusView, ImportStatusView } from '../../core/contract';
import { api, pollUntil, stack, uploadWithForm, type UploadForm } from './client';
import { untilEnded } from './history';

/**
 * A real FAILED import, through HTTP and S3 only: a two-file batch whose second file ('vanishing.csv') is uploaded,
 * then deleted once its execution is RUNNING and before the batch (started by the last upload) reads it. The batch
 * ends COMPLETED with files SUCCEEDED and FAILED, and its execution ends ExecutionFailed.
 */
export async function batchWithVanishedFile(user: string, wordPrefix: string) {
  const word = `${wordPrefix}${randomBytes(4).toString('hex')}`;
  const content = `userId,dateCreated,content,tags\nalice,2024-01-01T00:00:00Z,About ${word},${word}\n`;
  const { status: created, body } = await api<{ batchId: string; imports: Array<{ importId: string; upload: UploadForm }> }>(user, 'POST', '/imports', {
    type: 'direct',
    files: ['kept.csv', 'vanishing.csv'].map((fileName) => ({ fileName, size: Buffer.byteLength(content), contentType: 'text/csv' })),
  });
  expect(created).toBe(201);
  const [kept, vanishing] = body.imports;
  if (!kept || !vanishing) throw new Error('expected two imports');
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack().s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const vanishingObject = { Bucket: new URL(vanishing.upload.url).pathname.split('/')[1], Key: vanishing.upload.fields.key };

  await uploadWithForm(vanishing.upload, content, 'text/csv');
  await pollUntil(
    async () => (await api<ImportStatusView>(user, 'GET', `/imports/${vanishing.importId}`)).body,
    (file) => file.status === 'RUNNING',
    120_000,
  );
  await s3.send(new DeleteObjectCommand(vanishingObject));
  await uploadWithForm(kept.upload, content, 'text/csv');
  const batch = await pollUntil(
    async () => (await api<BatchStatusView>(user, 'GET', `/imports/${body.batchId}`)).body,
    (b) => b.status === 'COMPLETED',
    120_000,
  );
  expect(batch.files.map((file) => file.status)).toEqual(['SUCCEEDED', 'FAILED']);
  const executionArn = batch.files[1]?.executionArn ?? '';
  expect(await untilEnded(executionArn)).toBe('ExecutionFailed');
  return { batchId: body.batchId, kept, vanishing, vanishingObject, content, s3, executionArn };
}
