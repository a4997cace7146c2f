import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

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
