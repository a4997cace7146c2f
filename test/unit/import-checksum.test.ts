import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checksum } from '../../core/import/checksum';

const chunks = (data: Buffer, size: number): Readable =>
  Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
    })(),
  );

describe('checksumming an upload', () => {
  it('gives the SHA-256 of every byte as lower-case hex, whatever the chunking', async () => {
    const data = randomBytes(1_000_003);
    const expected = createHash('sha256').update(data).digest('hex');
    for (const size of [4096, 65_536, 1_000_003]) {
      await expect(checksum(chunks(data, size))).resolves.toEqual({ sha256: expected, bytes: data.length });
    }
    await expect(checksum(chunks(data.subarray(0, 5000), 1))).resolves.toMatchObject({
      sha256: createHash('sha256').update(data.subarray(0, 5000)).digest('hex'),
    });
  });

  it('the SHA-256 of an empty object is the well-known empty hash', async () => {
    await expect(checksum(Readable.from([]))).resolves.toEqual({
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      bytes: 0,
    });
  });

  it('matches the browser-computed hash case-insensitively', async () => {
    const data = Buffer.from('userId,dateCreated,content\n');
    const hex = createHash('sha256').update(data).digest('hex');
    await expect(checksum(Readable.from([data]), hex.toUpperCase())).resolves.toMatchObject({ sha256: hex, matches: true });
  });

  it('reports a mismatch when the upload is not what the browser hashed', async () => {
    const hashed = createHash('sha256').update('what the browser read').digest('hex');
    await expect(checksum(Readable.from([Buffer.from('what arrived')]), hashed)).resolves.toMatchObject({ matches: false });
  });

  it('says nothing about matching when no hash was given', async () => {
    const result = await checksum(Readable.from([Buffer.from('x')]));
    expect(result).not.toHaveProperty('matches');
  });

  it('fails when the object fails while being read (no checksum of part of a file)', async () => {
    const broken = Readable.from(
      (async function* () {
        yield Buffer.from('start');
        throw new Error('connection reset');
      })(),
    );
    await expect(checksum(broken)).rejects.toThrow('connection reset');
  });
});
