/**
 * Runs inside Chromium, bundled by bench/sha256-browser.ts: builds the Blob and hashes it with the app's
 * `hashFile` (hash-wasm) or with the hand-written hasher it replaced, sliced the same way.
 * Type-checked by frontend/tsconfig.json, as a browser module of the web app, not by the Node one.
 */
import { CHUNK_BYTES, hashFile } from '../frontend/src/lib/hashFile';
import { Sha256 as HandWrittenSha256 } from './sha256-baseline';
import { benchParts } from './sha256-data';

/** `slices only` reads the slices and hashes nothing: the floor both hashers stand on. */
export type Implementation = 'hand-written' | 'hash-wasm' | 'slices only';

let blob: Blob | undefined;

/** Builds the Blob every later run hashes; returns its size. */
export function makeBlob(totalBytes: number): number {
  const parts: Blob[] = [];
  // The Blob constructor copies the bytes, so the generator may reuse its buffer.
  for (const part of benchParts(totalBytes)) parts.push(new Blob([part]));
  blob = new Blob(parts);
  return blob.size;
}

/** The old hashFile loop, unchanged but for the hasher. */
async function handWrittenHashFile(file: Blob): Promise<string> {
  const hasher = new HandWrittenSha256();
  for (let offset = 0; offset < file.size; offset += CHUNK_BYTES) {
    hasher.update(new Uint8Array(await file.slice(offset, offset + CHUNK_BYTES).arrayBuffer()));
  }
  return hasher.hex();
}

async function readSlices(file: Blob): Promise<string> {
  let bytes = 0;
  for (let offset = 0; offset < file.size; offset += CHUNK_BYTES) {
    bytes += (await file.slice(offset, offset + CHUNK_BYTES).arrayBuffer()).byteLength;
  }
  return `${bytes} bytes read`;
}

export async function hashWith(implementation: Implementation): Promise<{ digest: string; seconds: number }> {
  if (!blob) throw new Error('makeBlob first');
  const started = performance.now();
  const digest =
    implementation === 'hash-wasm' ? await hashFile(blob) : implementation === 'hand-written' ? await handWrittenHashFile(blob) : await readSlices(blob);
  return { digest, seconds: (performance.now() - started) / 1000 };
}
