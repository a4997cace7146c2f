import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { DynamoImportRecords } from '../../adapters/aws/dynamo-import-records';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { NotFound } from '../../core/errors';
import { presignedPostPlan } from '../../core/import/upload-policy';
import { awsError, FakeSend, testCredentials } from './aws-fakes';

const at = new Date('2024-06-01T12:00:00.000Z');
function s3Store() {
  const fake = new FakeSend();
  const client = fake.install(new S3Client({ region: 'us-east-1', credentials: testCredentials }));
  return { fake, store: new S3ObjectStore(client) };
}

describe('S3ObjectStore for imports', () => {
  it('copies an object up to 5 GiB with one CopyObject', async () => {
    const { fake, store } = s3Store();
    fake.on('HeadObjectCommand', () => ({ ContentLength: 1000, ContentType: 'text/csv' })).on('CopyObjectCommand', () => ({}));
    await store.copy({ bucket: 'uploads', key: 'uploads/a b/c' }, { bucket: 'permanent', key: 'imports/x' });
    expect(fake.named('CopyObjectCommand')[0]?.input).toEqual({
      Bucket: 'permanent',
      Key: 'imports/x',
      CopySource: 'uploads/uploads/a%20b/c',
    });
  });

  it('copies a larger object part by part with UploadPartCopy', async () => {
    const { fake, store } = s3Store();
    const size = 6 * 1024 ** 3 + 1;
    fake
      .on('HeadObjectCommand', () => ({ ContentLength: size }))
      .on('CreateMultipartUploadCommand', () => ({ UploadId: 'u1' }))
      .on('UploadPartCopyCommand', (command) => ({ CopyPartResult: { ETag: `"p${String(command.input.PartNumber)}"` } }))
      .on('CompleteMultipartUploadCommand', () => ({}));
    await store.copy({ bucket: 'uploads', key: 'k' }, { bucket: 'permanent', key: 'p' });
    const ranges = fake.named('UploadPartCopyCommand').map((command) => command.input.CopySourceRange);
    expect(ranges).toHaveLength(7);
    expect(ranges[0]).toBe(`bytes=0-${1024 ** 3 - 1}`);
    expect(ranges.at(-1)).toBe(`bytes=${6 * 1024 ** 3}-${size - 1}`);
    expect(fake.named('CompleteMultipartUploadCommand')[0]?.input.MultipartUpload).toMatchObject({
      Parts: expect.arrayContaining([{ PartNumber: 7, ETag: '"p7"' }]),
    });
  });

  it('heads a missing object as undefined', async () => {
    const { fake, store } = s3Store();
    fake.on('HeadObjectCommand', () => {
      throw awsError('NotFound', 404);
    });
    expect(await store.head('b', 'k')).toBeUndefined();
  });

  it('presigns a POST form carrying the policy with the exact key, type and size', async () => {
    const { store } = s3Store();
    const plan = presignedPostPlan({ bucket: 'uploads', key: 'uploads/a/b/c', file: { size: 42, contentType: 'text/csv' } });
    const form = await store.presignPost(plan, 3600);
    expect(form.url).toMatch(/uploads/);
    expect(form.fields).toMatchObject({ key: 'uploads/a/b/c', 'Content-Type': 'text/csv' });
    const policy = JSON.parse(Buffer.from(form.fields.Policy ?? '', 'base64').toString('utf8')) as { conditions: unknown[] };
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 42, 42],
        ['eq', '$Content-Type', 'text/csv'],
        ['eq', '$key', 'uploads/a/b/c'],
      ]),
    );
  });

  it('presigns part uploads and turns a second completion into NotFound', async () => {
    const { fake, store } = s3Store();
    const url = await store.presignUploadPart('uploads', 'k', 'u1', 3, 600);
    expect(url).toMatch(/partNumber=3/);
    expect(url).toMatch(/uploadId=u1/);
    fake.on('CompleteMultipartUploadCommand', () => {
      throw awsError('NoSuchUpload', 404);
    });
    await expect(store.completeMultipartUpload('uploads', 'k', 'u1', [{ partNumber: 1, etag: '"e"' }])).rejects.toBeInstanceOf(NotFound);
  });
});

describe('DynamoImportRecords', () => {
  const dynamo = () => {
    const fake = new FakeSend();
    const documents = fake.install(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: testCredentials })));
    return { fake, imports: new DynamoImportRecords(documents, 'imports') };
  };

  it('updates checks as nested attributes, so parallel checks do not overwrite each other', async () => {
    const { fake, imports } = dynamo();
    fake.on('UpdateCommand', () => ({ Attributes: { pk: 'IMPORT#a', importId: 'a' } }));
    await imports.update('a', { checks: { antivirus: 'clean' }, executionArn: 'arn:x' }, at);
    const [update] = fake.named('UpdateCommand');
    expect(update?.input.UpdateExpression).toBe(
      'SET updatedAt = :updatedAt, #executionArn = :executionArn, #checks.#check_antivirus = :check_antivirus',
    );
    expect(update?.input.ConditionExpression).toBe('attribute_exists(pk)');
  });

  it('marks an upload once and counts the batch down with an atomic set delete', async () => {
    const { fake, imports } = dynamo();
    fake.on('UpdateCommand', (command) =>
      String(command.input.UpdateExpression).startsWith('DELETE')
        ? { Attributes: { pk: 'BATCH#b' } }
        : { Attributes: { pk: 'IMPORT#a', importId: 'a', batchId: 'b', status: 'RUNNING' } },
    );
    expect(await imports.markUploaded('a', at)).toMatchObject({ batchUploaded: true, record: { importId: 'a', status: 'RUNNING' } });
    const [, countDown] = fake.named('UpdateCommand');
    expect(countDown?.input).toMatchObject({
      Key: { pk: 'BATCH#b' },
      UpdateExpression: 'DELETE waiting :importId',
      ExpressionAttributeValues: { ':importId': new Set(['a']) },
    });
    expect((await imports.markUploaded('a', at)).record).not.toHaveProperty('pk');
  });
});
