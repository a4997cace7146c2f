import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { Transient } from '../../core/errors';
import { FakeSend, awsError, testCredentials } from './aws-fakes';

const MiB = 1024 * 1024;

function s3Store(config: { requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED' } = {}) {
  const fake = new FakeSend();
  const client = fake.install(new S3Client({ region: 'us-east-1', credentials: testCredentials, ...config }));
  return { fake, store: new S3ObjectStore(client) };
}

/** `mib` MiB of 'a' in 100 KiB chunks, like the CSV stream's. */
function bytes(mib: number): Readable {
  return Readable.from(
    (function* () {
      for (let left = mib * MiB; left > 0; left -= 100 * 1024) yield Buffer.alloc(Math.min(left, 100 * 1024), 97);
    })(),
  );
}

const bodyOf = (input: Record<string, unknown>): Uint8Array => input.Body as Uint8Array;

describe('S3ObjectStore.putStream (streamed upload)', () => {
  it('sends an object of exactly one part size as a single PutObject', async () => {
    const { fake, store } = s3Store();
    fake.on('PutObjectCommand', () => ({ ETag: '"e"' }));
    const { bytes: sent } = await store.putStream('bucket', 'k', bytes(8), { contentType: 'text/csv' });
    expect(sent).toBe(8 * MiB);
    expect(fake.sent.map((c) => c.name)).toEqual(['PutObjectCommand']);
    expect(bodyOf(fake.named('PutObjectCommand')[0]!.input).byteLength).toBe(8 * MiB);
  });

  it('uploads an empty stream as an empty object', async () => {
    const { fake, store } = s3Store();
    fake.on('PutObjectCommand', () => ({ ETag: '"e"' }));
    const { bytes: sent } = await store.putStream('bucket', 'k', Readable.from([]), { contentType: 'text/csv' });
    expect(sent).toBe(0);
    expect(bodyOf(fake.named('PutObjectCommand')[0]!.input).byteLength).toBe(0);
  });

  it('counts bytes, not characters, of string chunks', async () => {
    const { fake, store } = s3Store();
    fake.on('PutObjectCommand', () => ({ ETag: '"e"' }));
    const { bytes: sent } = await store.putStream('bucket', 'k', Readable.from(['Fähre 🚢\r\n']), { contentType: 'text/csv' });
    expect(sent).toBe(Buffer.byteLength('Fähre 🚢\r\n'));
    expect(Buffer.from(bodyOf(fake.named('PutObjectCommand')[0]!.input)).toString('utf8')).toBe('Fähre 🚢\r\n');
  });

  it('keeps at most two parts in flight and three part buffers however many parts there are', async () => {
    const { fake, store } = s3Store();
    let inFlight = 0;
    let most = 0;
    fake
      .on('CreateMultipartUploadCommand', () => ({ UploadId: 'u' }))
      .on('UploadPartCommand', async (command) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
        return { ETag: `"p${String(command.input.PartNumber)}"` };
      })
      .on('CompleteMultipartUploadCommand', () => ({ ETag: '"whole"' }));
    const { bytes: sent } = await store.putStream('bucket', 'k', bytes(60), { contentType: 'text/csv' });
    expect(sent).toBe(60 * MiB);
    const parts = fake.named('UploadPartCommand');
    expect(parts.map((p) => bodyOf(p.input).byteLength)).toEqual([...Array(7).fill(8 * MiB), 4 * MiB]);
    expect(most).toBe(2);
    expect(new Set(parts.map((p) => bodyOf(p.input).buffer)).size).toBeLessThanOrEqual(3);
    const [complete] = fake.named('CompleteMultipartUploadCommand');
    expect((complete?.input.MultipartUpload as { Parts: { PartNumber: number }[] }).Parts.map((p) => p.PartNumber)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
  });

  it('creates the upload with CRC32 and completes it with each part checksum under the SDK default checksums', async () => {
    const { fake, store } = s3Store();
    fake
      .on('CreateMultipartUploadCommand', () => ({ UploadId: 'u' }))
      .on('UploadPartCommand', (command) => ({
        ETag: `"p${String(command.input.PartNumber)}"`,
        ChecksumCRC32: `c${String(command.input.PartNumber)}`,
      }))
      .on('CompleteMultipartUploadCommand', () => ({ ETag: '"whole"' }));
    await store.putStream('bucket', 'k', bytes(9), {
      contentType: 'text/csv',
      contentDisposition: 'attachment',
      metadata: { 'export-id': 'e' },
    });
    expect(fake.named('CreateMultipartUploadCommand')[0]?.input).toMatchObject({
      Bucket: 'bucket',
      Key: 'k',
      ContentType: 'text/csv',
      ContentDisposition: 'attachment',
      Metadata: { 'export-id': 'e' },
      ChecksumAlgorithm: 'CRC32',
    });
    const [complete] = fake.named('CompleteMultipartUploadCommand');
    expect(complete?.input.MultipartUpload).toEqual({
      Parts: [
        { PartNumber: 1, ETag: '"p1"', ChecksumCRC32: 'c1' },
        { PartNumber: 2, ETag: '"p2"', ChecksumCRC32: 'c2' },
      ],
    });
  });

  it('names no checksum algorithm when the client only checksums where required', async () => {
    const { fake, store } = s3Store({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    fake
      .on('CreateMultipartUploadCommand', () => ({ UploadId: 'u' }))
      .on('UploadPartCommand', () => ({ ETag: '"p"' }))
      .on('CompleteMultipartUploadCommand', () => ({}));
    await store.putStream('bucket', 'k', bytes(9), { contentType: 'text/csv' });
    expect(fake.named('CreateMultipartUploadCommand')[0]?.input).not.toHaveProperty('ChecksumAlgorithm');
  });

  it('aborts the multipart upload and stops reading when a part fails', async () => {
    const { fake, store } = s3Store();
    fake
      .on('CreateMultipartUploadCommand', () => ({ UploadId: 'u' }))
      .on('UploadPartCommand', (command) => {
        if (command.input.PartNumber === 2) throw awsError('SlowDown', 503);
        return { ETag: '"p"' };
      })
      .on('AbortMultipartUploadCommand', () => ({}));
    const body = bytes(200);
    await expect(store.putStream('bucket', 'k', body, { contentType: 'text/csv' })).rejects.toBeInstanceOf(Transient);
    expect(fake.named('AbortMultipartUploadCommand')[0]?.input).toEqual({ Bucket: 'bucket', Key: 'k', UploadId: 'u' });
    expect(fake.named('CompleteMultipartUploadCommand')).toHaveLength(0);
    expect(fake.named('UploadPartCommand').length).toBeLessThanOrEqual(4);
    expect(body.destroyed).toBe(true);
  });

  it('aborts the multipart upload when the source fails midway, with the source error', async () => {
    const { fake, store } = s3Store();
    fake
      .on('CreateMultipartUploadCommand', () => ({ UploadId: 'u' }))
      .on('UploadPartCommand', () => ({ ETag: '"p"' }))
      .on('AbortMultipartUploadCommand', () => ({}));
    async function* failing() {
      for (let i = 0; i < 100; i += 1) yield Buffer.alloc(MiB, 97);
      throw new Transient('search went away');
    }
    await expect(store.putStream('bucket', 'k', Readable.from(failing()), { contentType: 'text/csv' })).rejects.toThrow('search went away');
    expect(fake.named('AbortMultipartUploadCommand')).toHaveLength(1);
    expect(fake.named('CompleteMultipartUploadCommand')).toHaveLength(0);
  });
});
