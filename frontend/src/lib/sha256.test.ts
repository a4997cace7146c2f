import { describe, expect, it } from 'vitest';
import { hashFile } from './hashFile';
import { Sha256, sha256Hex } from './sha256';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('sha256', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256Hex(utf8(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(utf8('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('hashes a million "a" fed in uneven pieces the same as the published digest', () => {
    const hasher = new Sha256();
    const piece = utf8('a'.repeat(999));
    let fed = 0;
    while (fed + piece.length <= 1_000_000) {
      hasher.update(piece);
      fed += piece.length;
    }
    hasher.update(utf8('a'.repeat(1_000_000 - fed)));
    expect(hasher.hex()).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('agrees with Web Crypto on random data at every block-boundary length', async () => {
    for (const length of [55, 56, 63, 64, 65, 119, 120, 128, 1000, 70_001]) {
      const data = new Uint8Array(length);
      for (let i = 0; i < length; i++) data[i] = (i * 2654435761) >>> 24;
      const expected = Buffer.from(await crypto.subtle.digest('SHA-256', data)).toString('hex');
      expect(sha256Hex(data), `length ${length}`).toBe(expected);
    }
  });

  it('hashes a file slice by slice and reports progress up to its size', async () => {
    const content = utf8('id,userId\n'.repeat(50_000));
    const seen: number[] = [];
    const digest = await hashFile(new Blob([content]), (n) => seen.push(n));
    expect(digest).toBe(sha256Hex(content));
    expect(seen.at(-1)).toBe(content.length);
  });
});
