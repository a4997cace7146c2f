import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createSHA256 } from 'hash-wasm';

export interface ChecksumResult {
  /** Lower-case hex SHA-256 of every byte of the stream. */
  sha256: string;
  bytes: number;
  /** Present only when an expected hash was given: whether it is the same (case-insensitive). */
  matches?: boolean;
}

/** SHA-256 of a stream, read once in its own chunks (memory stays flat for any size). */
export async function checksum(stream: Readable, expectedSha256?: string): Promise<ChecksumResult> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    hash.update(data);
    bytes += data.length;
  }
  const sha256 = hash.digest('hex');
  return expectedSha256 === undefined ? { sha256, bytes } : { sha256, bytes, matches: sha256 === expectedSha256.trim().toLowerCase() };
}

/**
 * Where a stepwise SHA-256 stopped between two tasks: the bytes hashed so far and the hash's saved state (hash-wasm's
 * save(): 116 bytes, 156 characters of base64), so the state machine carries ~200 B of JSON whatever the file's size.
 */
export interface ChecksumProgress {
  offset: number;
  state: string;
}

/**
 * Hashes `stream` on from `from` (or from the start of the file) and, when `isLast(bytesSoFar)` says the file is done,
 * gives its digest; otherwise where to go on from. hash-wasm, because node:crypto cannot save a hash's state; it is
 * ~7x slower here (~190 against ~1,300 MB/s), still faster than one S3 stream, so only a file over one step uses it.
 */
export async function checksumStep(
  stream: Readable,
  from: ChecksumProgress | undefined,
  isLast: (bytes: number) => boolean,
): Promise<{ sha256: string; bytes: number } | ChecksumProgress> {
  const hash = await createSHA256();
  if (from) hash.load(Buffer.from(from.state, 'base64'));
  else hash.init();
  let bytes = from?.offset ?? 0;
  for await (const chunk of stream) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    hash.update(data);
    bytes += data.length;
  }
  return isLast(bytes) ? { sha256: hash.digest('hex'), bytes } : { offset: bytes, state: Buffer.from(hash.save()).toString('base64') };
}
