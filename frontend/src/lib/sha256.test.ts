import { describe, expect, it } from 'vitest';
import { hashFile } from './hashFile';
import { createSha256, sha256Hex } from './sha256';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('sha256', () => {
  it('matches the FIPS 180-4 test vectors', async () => {
    expect(await sha256Hex(utf8(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await sha256Hex(utf8('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256Hex(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('hashes a million "a" fed in uneven pieces the same as the published digest', async () => {
    const hasher = await createSha256();
    const piece = utf8('a'.repeat(999));
    let fed = 0;
    while (fed + piece.length <= 1_000_000) {
      hasher.update(piece);
      fed += piece.length;
    }
    hasher.update(utf8('a'.repeat(1_000_000 - fed)));
    expect(hasher.digest('hex')).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('agrees with Web Crypto on random data at every block-boundary length', async () => {
    for (const length of [55, 56, 63, 64, 65, 119, 120, 128, 1000, 70_001]) {
      const data = new Uint8Array(length);
      for (let i = 0; i < length; i++) data[i] = (i * 2654435761) >>> 24;
      const expected = Buffer.from(await crypto.subtle.digest('SHA-256', data)).toString('hex');
      expect(await sha256Hex(data), `length ${length}`).toBe(expected);
    }
  });

  it('keeps two hashers apart when files are hashed side by side', async () => {
    const [first, second] = await Promise.all([createSha256(), createSha256()]);
    first.update(utf8('ab'));
    second.update(utf8('x'));
    first.update(utf8('c'));
    expect(first.digest('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(second.digest('hex')).toBe(await sha256Hex(utf8('x')));
  });

  it('hashes a file slice by slice and reports progress up to its size', async () => {
    const content = utf8('id,userId\n'.repeat(50_000));
    const seen: number[] = [];
    const digest = await hashFile(new Blob([content]), (n) => seen.push(n));
    expect(digest).toBe(await sha256Hex(content));
    expect(seen.at(-1)).toBe(content.length);
  });

  it('hashes a file larger than one slice the same as the whole buffer at once', async () => {
    const content = new Uint8Array(9 * 1024 * 1024 + 7);
    for (let i = 0; i < content.length; i++) content[i] = (i * 2654435761) >>> 24;
    const expected = Buffer.from(await crypto.subtle.digest('SHA-256', content)).toString('hex');
    expect(await hashFile(new Blob([content]))).toBe(expected);
  });
});
