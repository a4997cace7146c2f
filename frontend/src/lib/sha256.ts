import { createSHA256, sha256, type IHasher } from 'hash-wasm';

/**
 * SHA-256 from hash-wasm, a maintained WebAssembly build that is incremental: Web Crypto only digests
 * a whole buffer, and a multi-gigabyte file has to be hashed chunk by chunk with flat memory.
 * It replaced a hand-written TypeScript version; `npm run bench:sha256` compares the two in Chromium.
 */
export type Sha256Hasher = Pick<IHasher, 'update' | 'digest'>;

/** A fresh incremental hasher with its own WebAssembly memory, so files can be hashed side by side. */
export const createSha256 = (): Promise<Sha256Hasher> => createSHA256();

/** The digest of one buffer as 64 lowercase hex characters. */
export const sha256Hex = (data: Uint8Array): Promise<string> => sha256(data);
