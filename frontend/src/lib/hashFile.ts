import { createSha256 } from './sha256';

/** 4 MiB slices: large enough to be fast, small enough to keep memory flat for any file size. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * SHA-256 of a file, read slice by slice so a multi-gigabyte file never sits in memory at once.
 * `onProgress` receives the bytes hashed so far.
 */
export async function hashFile(
  file: Blob,
  onProgress?: (bytesHashed: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  const hasher = await createSha256();
  for (let offset = 0; offset < file.size; offset += CHUNK_BYTES) {
    signal?.throwIfAborted();
    const chunk = await readSlice(file.slice(offset, offset + CHUNK_BYTES));
    hasher.update(chunk);
    onProgress?.(Math.min(offset + CHUNK_BYTES, file.size));
  }
  return hasher.digest('hex');
}

async function readSlice(slice: Blob): Promise<Uint8Array> {
  if (typeof slice.arrayBuffer === 'function') return new Uint8Array(await slice.arrayBuffer());
  // Older engines (and some test DOMs) lack Blob.arrayBuffer.
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error ?? new Error('Could not read the file'));
    reader.readAsArrayBuffer(slice);
  });
}
