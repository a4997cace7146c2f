import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../core/errors';
import {
  DEFAULT_MAX_IMPORT_BYTES,
  MULTIPART_MAX_PARTS,
  PRESIGNED_POST_MAX_BYTES,
  parseCreateImportRequest,
  parseUploadKey,
  partRange,
  planMultipartUpload,
  presignedPostPlan,
  uploadKey,
  uploadMethodFor,
} from '../../core/import/upload-policy';

/** The local S3 does not enforce POST policies, so the policy is checked here as a document. */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const SHA = 'AB'.repeat(32);
const valid = { fileName: 'posts.csv', size: 1234, contentType: 'text/csv', type: 'email' };

function invalidField(body: unknown, limits?: Parameters<typeof parseCreateImportRequest>[1]): string | undefined {
  try {
    parseCreateImportRequest(body, limits);
  } catch (error) {
    if (error instanceof InvalidInput) return error.field;
    throw error;
  }
  return undefined;
}

describe('the create-import request', () => {
  it('accepts one file and normalizes it to a one-file list, lower-casing the hash', () => {
    expect(parseCreateImportRequest({ ...valid, sha256: SHA })).toEqual({
      delivery: 'email',
      batch: false,
      files: [{ fileName: 'posts.csv', size: 1234, contentType: 'text/csv', sha256: SHA.toLowerCase() }],
    });
  });

  it('accepts a batch of files with one delivery type', () => {
    const request = parseCreateImportRequest({
      type: 'push',
      files: [
        { fileName: 'a.csv', size: 10, contentType: 'text/csv' },
        { fileName: 'b.ndjson', size: 20, contentType: 'application/x-ndjson; charset=utf-8' },
      ],
    });
    expect(request.batch).toBe(true);
    expect(request.delivery).toBe('push');
    expect(request.files.map((f) => f.fileName)).toEqual(['a.csv', 'b.ndjson']);
  });

  it('takes the delivery as `delivery`, or as `type`, the name the contract documented first', () => {
    const { type: _type, ...file } = valid;
    expect(parseCreateImportRequest({ ...file, delivery: 'push' }).delivery).toBe('push');
    expect(parseCreateImportRequest({ ...file, type: 'push' }).delivery).toBe('push');
    expect(parseCreateImportRequest({ files: [file], delivery: 'direct' }).delivery).toBe('direct');
  });

  it.each<[string, unknown, string]>([
    ['size 0', { ...valid, size: 0 }, 'size'],
    ['a size over the limit', { ...valid, size: DEFAULT_MAX_IMPORT_BYTES + 1 }, 'size'],
    ['a fractional size', { ...valid, size: 1.5 }, 'size'],
    ['a size given as text', { ...valid, size: '1234' }, 'size'],
    ['a missing file name', { ...valid, fileName: undefined }, 'fileName'],
    ['a blank file name', { ...valid, fileName: '   ' }, 'fileName'],
    ['an unknown delivery type', { ...valid, type: 'fax' }, 'type'],
    ['an unknown delivery', { ...valid, type: undefined, delivery: 'fax' }, 'delivery'],
    ['a missing delivery type', { ...valid, type: undefined }, 'delivery'],
    ['a content type that is not a media type', { ...valid, contentType: 'csv please' }, 'contentType'],
    ['a hash that is not 64 hex digits', { ...valid, sha256: 'abc' }, 'sha256'],
    ['an unknown field', { ...valid, bucket: 'someone-elses' }, 'bucket'],
    [
      'a bad file inside a batch',
      {
        type: 'direct',
        files: [
          { fileName: 'a', size: 1, contentType: 'text/csv' },
          { fileName: 'b', size: 0, contentType: 'text/csv' },
        ],
      },
      'files[1].size',
    ],
    ['an empty batch', { type: 'direct', files: [] }, 'files'],
  ])('refuses %s, naming the field', (_name, body, field) => {
    expect(invalidField(body)).toBe(field);
  });

  it('refuses a body that is not an object', () => {
    expect(invalidField('posts.csv')).toBe('body');
    expect(invalidField(null)).toBe('body');
  });

  it('applies the configured limits (MAX_IMPORT_BYTES, files per batch)', () => {
    const limits = { maxImportBytes: 1000, maxBatchFiles: 2 };
    expect(invalidField({ ...valid, size: 1001 }, limits)).toBe('size');
    expect(invalidField({ ...valid, size: 1000 }, limits)).toBeUndefined();
    const file = { fileName: 'a', size: 1, contentType: 'text/csv' };
    expect(invalidField({ type: 'direct', files: [file, file, file] }, limits)).toBe('files');
  });

  it('says what was wrong in the message', () => {
    expect(() => parseCreateImportRequest({ ...valid, size: 0 })).toThrow('size: must be at least 1 byte');
  });
});

describe('the upload key', () => {
  it('is uploads/<userId>/<importId>/<random>, never built from the file name', () => {
    expect(uploadKey('user-1', 'imp-1', 'r4nd0m')).toBe('uploads/user-1/imp-1/r4nd0m');
  });

  it('refuses parts that could escape the prefix', () => {
    expect(() => uploadKey('../admin', 'imp-1', 'r')).toThrow(InvalidInput);
    expect(() => uploadKey('user-1', 'imp/1', 'r')).toThrow(InvalidInput);
    expect(() => uploadKey('user-1', 'imp-1', '..')).toThrow(InvalidInput);
  });

  it('reads user and import back from the key of an object-created event', () => {
    expect(parseUploadKey('uploads/user-1/imp-1/r4nd0m')).toEqual({ userId: 'user-1', importId: 'imp-1' });
    expect(parseUploadKey('exports/user-1/imp-1/r4nd0m')).toBeUndefined();
    expect(parseUploadKey('uploads/user-1/imp-1/a/b')).toBeUndefined();
  });
});

describe('the presigned POST policy', () => {
  const plan = presignedPostPlan({ bucket: 'ferry-uploads', key: 'uploads/u/i/r', file: { size: 1234, contentType: 'text/csv' } });

  it('pins the bucket and the key', () => {
    expect(plan.Bucket).toBe('ferry-uploads');
    expect(plan.Key).toBe('uploads/u/i/r');
    expect(plan.Conditions).toContainEqual({ bucket: 'ferry-uploads' });
    expect(plan.Conditions).toContainEqual(['eq', '$key', 'uploads/u/i/r']);
  });

  it('requires exactly the declared content type, and sends it as a field', () => {
    expect(plan.Conditions).toContainEqual(['eq', '$Content-Type', 'text/csv']);
    expect(plan.Fields).toEqual({ 'Content-Type': 'text/csv' });
  });

  it('limits the upload to the declared size, which is at most MAX_IMPORT_BYTES', () => {
    expect(plan.Conditions).toContainEqual(['content-length-range', 1234, 1234]);
  });

  it('signed by the AWS SDK, the policy document carries these conditions and an expiry', async () => {
    const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
    const { fields } = await createPresignedPost(client, { ...plan, Expires: 900 });
    const policy = JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
    expect(policy.conditions).toEqual(
      expect.arrayContaining([['content-length-range', 1234, 1234], ['eq', '$Content-Type', 'text/csv'], { key: 'uploads/u/i/r' }]),
    );
    expect(fields.key).toBe('uploads/u/i/r');
    expect(new Date(policy.expiration).getTime()).toBeGreaterThan(Date.now());
  });

  it('is only for files up to 5 GiB; larger ones go multipart', () => {
    expect(uploadMethodFor(PRESIGNED_POST_MAX_BYTES)).toBe('post');
    expect(uploadMethodFor(PRESIGNED_POST_MAX_BYTES + 1)).toBe('multipart');
    expect(() =>
      presignedPostPlan({ bucket: 'b', key: 'k', file: { size: PRESIGNED_POST_MAX_BYTES + 1, contentType: 'text/csv' } }),
    ).toThrow(InvalidInput);
  });
});

describe('the multipart plan for files over 5 GiB', () => {
  it('uses 64 MiB parts while that stays within 10,000 parts', () => {
    const size = 6 * GiB + 5;
    const plan = planMultipartUpload(size);
    expect(plan).toEqual({ partBytes: 64 * MiB, partCount: 97, lastPartBytes: size - 96 * 64 * MiB });
  });

  it('grows parts in whole MiB so a huge file never needs more than 10,000 parts', () => {
    const size = 1024 * GiB;
    const plan = planMultipartUpload(size);
    expect(plan.partCount).toBeLessThanOrEqual(MULTIPART_MAX_PARTS);
    expect(plan.partBytes % MiB).toBe(0);
    expect(plan.partBytes).toBe(105 * MiB);
  });

  it('covers every byte exactly once, in order', () => {
    const size = 6 * GiB + 12_345;
    const plan = planMultipartUpload(size);
    let next = 0;
    for (let part = 1; part <= plan.partCount; part++) {
      const range = partRange(plan, part);
      expect(range.start).toBe(next);
      next = range.end;
    }
    expect(next).toBe(size);
    expect(() => partRange(plan, plan.partCount + 1)).toThrow(InvalidInput);
  });

  it('refuses a size S3 cannot take in 10,000 parts of at most 5 GiB', () => {
    expect(() => planMultipartUpload(10_000 * 5 * GiB + 1)).toThrow(InvalidInput);
  });
});
