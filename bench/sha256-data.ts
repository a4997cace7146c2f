/** The size of each generated part; the same as the app's hashing slice, though nothing depends on it. */
export const PART_BYTES = 4 * 1024 * 1024;

/**
 * The benchmark's bytes, made identically in the page and in Node: one pseudo-random pattern of
 * PART_BYTES, each part stamped with its index so no two parts are equal. The generator yields the
 * same buffer each time, re-stamped: use each part (copy it into a Blob, feed a hash) before the next.
 */
export function* benchParts(totalBytes: number): Generator<Uint8Array<ArrayBuffer>> {
  const pattern = new Uint8Array(PART_BYTES);
  const words = new Uint32Array(pattern.buffer);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    // xorshift32: cheap, reproducible, not compressible by anything on the way.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  const stamp = new DataView(pattern.buffer);
  for (let offset = 0, index = 0; offset < totalBytes; offset += PART_BYTES, index++) {
    stamp.setUint32(0, index);
    yield pattern.subarray(0, Math.min(PART_BYTES, totalBytes - offset));
  }
}
