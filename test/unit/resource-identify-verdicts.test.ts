import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RESOURCE_TYPES } from '../../core/resource/config';
import { identifyResource, pdfIsEncrypted, zipHasEncryptedEntry, type ResourceVerdict } from '../../core/resource/identify';
import { compoundFile, docx, encryptedZip, pdf, zip } from '../fixtures/resource-files';

/**
 * The identify check's whole verdict for each kind of resource: its reason is what the user reads when
 * a file is refused, so the words are asserted exactly.
 */

const MiB = 1024 * 1024;

const identify = (bytes: Buffer | string, allowlist = DEFAULT_RESOURCE_TYPES, chunkBytes = 64 * 1024) => {
  const data = Buffer.from(bytes);
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkBytes) chunks.push(data.subarray(at, at + chunkBytes));
  return identifyResource(Readable.from(chunks), allowlist);
};

const kept = (mime: string, ext: string): ResourceVerdict => ({
  kind: 'resource',
  format: 'resource',
  reason: `the file is ${ext.toUpperCase()} (${mime})`,
  type: { mime, ext },
});
const CSV = kept('text/csv', 'csv');
const TEXT = kept('text/plain', 'txt');
const BINARY: ResourceVerdict = {
  kind: 'resource',
  format: 'unknown',
  reason: 'Ferry could not tell what kind of file this is: it is binary, and of no format Ferry recognises',
};
const CFB = { mime: 'application/x-cfb', ext: 'cfb' };

describe('the verdict on Office files in a Compound File', () => {
  it('refuses an encrypted package, by either of its entries', async () => {
    const refused: ResourceVerdict = {
      kind: 'resource',
      format: 'unknown',
      reason: 'the Office document is password-protected (it is an encrypted package with EncryptionInfo)',
      type: CFB,
    };
    await expect(identify(compoundFile(['EncryptionInfo']))).resolves.toEqual(refused);
    await expect(identify(compoundFile(['EncryptedPackage']))).resolves.toEqual(refused);
  });

  it('tells Word, Excel (old and new) and PowerPoint files apart by their entries', async () => {
    await expect(identify(compoundFile(['WordDocument']))).resolves.toEqual(kept('application/msword', 'doc'));
    await expect(identify(compoundFile(['Workbook']))).resolves.toEqual(kept('application/vnd.ms-excel', 'xls'));
    await expect(identify(compoundFile(['Book']))).resolves.toEqual(kept('application/vnd.ms-excel', 'xls'));
    await expect(identify(compoundFile(['PowerPoint Document']))).resolves.toEqual(kept('application/vnd.ms-powerpoint', 'ppt'));
  });

  it('names a Compound File of no Office kind as such, kept only when the allowlist has it', async () => {
    await expect(identify(compoundFile(['Other']))).resolves.toEqual({
      kind: 'resource',
      format: 'unknown',
      reason: 'the file is CFB (application/x-cfb), which is not a type Ferry accepts as a resource',
      type: CFB,
    });
    await expect(identify(compoundFile(['Other']), ['application/x-cfb'])).resolves.toEqual(kept('application/x-cfb', 'cfb'));
  });

  it('finds an entry far past the first MiB, read chunk by chunk', async () => {
    const file = compoundFile(['Other']);
    const entry = Buffer.from('EncryptionInfo', 'utf16le');
    const big = Buffer.concat([file, Buffer.alloc(2 * MiB, 0x20), entry]);
    await expect(identify(big, DEFAULT_RESOURCE_TYPES, 100_000)).resolves.toMatchObject({ format: 'unknown', type: CFB });
  });
});

describe('reading past the first MiB', () => {
  it('finds a Compound File entry cut anywhere between two chunks after the head, even one byte before its end', async () => {
    const entry = Buffer.from('EncryptionInfo', 'utf16le');
    const file = Buffer.concat([compoundFile(['Other']), Buffer.alloc(2 * MiB, 0x20), entry, Buffer.alloc(100, 0x20)]);
    const at = file.indexOf(entry);
    for (const cut of [1, 7, entry.length - 1]) {
      const chunks = [file.subarray(0, MiB + 10), file.subarray(MiB + 10, at + cut), file.subarray(at + cut)];
      await expect(identifyResource(Readable.from(chunks), DEFAULT_RESOURCE_TYPES), `cut ${cut}`).resolves.toMatchObject({ format: 'unknown' });
    }
  });

  it('stops the stream once it has decided', async () => {
    const stream = Readable.from([Buffer.from('a,b\nc,d\n'), Buffer.alloc(2 * MiB, 0x61)]);
    await identifyResource(stream, DEFAULT_RESOURCE_TYPES);
    expect(stream.destroyed).toBe(true);
  });
});

describe('the verdict on ZIP containers and PDFs', () => {
  it('refuses a ZIP with encrypted entries, and keeps a plain one the allowlist has', async () => {
    await expect(identify(encryptedZip(), ['application/zip'])).resolves.toEqual({
      kind: 'resource',
      format: 'unknown',
      reason: 'the file is password-protected (its ZIP entries are encrypted), so nobody could open it later',
      type: { mime: 'application/zip', ext: 'zip' },
    });
    await expect(identify(zip([{ name: 'a.txt', data: Buffer.from('plain') }]), ['application/zip'])).resolves.toEqual(
      kept('application/zip', 'zip'),
    );
    await expect(identify(docx())).resolves.toEqual(
      kept('application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx'),
    );
  });

  it('refuses a PDF whose trailer names /Encrypt, and keeps one that does not', async () => {
    await expect(identify(pdf('secret', { encrypt: true }))).resolves.toEqual({
      kind: 'resource',
      format: 'unknown',
      reason: 'the PDF is encrypted or password-protected (its trailer names an /Encrypt dictionary)',
      type: { mime: 'application/pdf', ext: 'pdf' },
    });
    await expect(identify(pdf())).resolves.toEqual(kept('application/pdf', 'pdf'));
  });

  it('reads a big PDF’s trailer in its last MiB, however the stream is chunked', async () => {
    const secret = pdf('secret', { encrypt: true });
    const big = Buffer.concat([secret.subarray(0, 16), Buffer.alloc(5 * MiB, 0x20), secret.subarray(16)]);
    for (const chunkBytes of [64 * 1024, 3 * MiB]) {
      await expect(identify(big, DEFAULT_RESOURCE_TYPES, chunkBytes)).resolves.toMatchObject({ format: 'unknown' });
    }
    // An /Encrypt more than a MiB before the end is in the body, not the trailer.
    const early = Buffer.concat([pdf(), Buffer.from('/Encrypt 9 0 R\n'), Buffer.alloc(2 * MiB, 0x20)]);
    await expect(identify(early, DEFAULT_RESOURCE_TYPES, 100_000)).resolves.toEqual(kept('application/pdf', 'pdf'));
  });

  it('finds /Encrypt as an indirect reference or an inline dictionary, with any spacing', () => {
    expect(pdfIsEncrypted(Buffer.from('trailer << /Encrypt 12 0 R >>'))).toBe(true);
    expect(pdfIsEncrypted(Buffer.from('trailer << /Encrypt<< /Filter /Standard >> >>'))).toBe(true);
    expect(pdfIsEncrypted(Buffer.from('trailer << /Encrypt\n 3  0 R >>'))).toBe(true);
    expect(pdfIsEncrypted(Buffer.from('trailer << /Encrypt 12 10 R >>'))).toBe(true);
    expect(pdfIsEncrypted(Buffer.from('trailer << /Encrypt 12 0  R >>'))).toBe(true);
    expect(pdfIsEncrypted(Buffer.from('trailer << /Encrypt 12 R >>'))).toBe(false);
    expect(pdfIsEncrypted(Buffer.from('trailer << /EncryptMetadata false >>'))).toBe(false);
  });

  it('walks the ZIP local headers by their name, extra field and data lengths', () => {
    const plain = zip([
      { name: 'first.txt', data: Buffer.from('one') },
      { name: 'second.txt', data: Buffer.from('two') },
    ]);
    expect(zipHasEncryptedEntry(plain)).toBe(false);
    // The second entry encrypted: found only by stepping over the first entry exactly.
    const secondAt = 30 + 'first.txt'.length + 3;
    const mixed = Buffer.from(plain);
    mixed.writeUInt16LE(0x0001, secondAt + 6);
    expect(zipHasEncryptedEntry(mixed)).toBe(true);
    // An extra field on the first entry moves the second one on.
    const first = plain.subarray(0, secondAt);
    const withExtra = Buffer.concat([first.subarray(0, 30 + 9), Buffer.from([1, 2, 3, 4]), first.subarray(30 + 9), mixed.subarray(secondAt)]);
    withExtra.writeUInt16LE(4, 28);
    expect(zipHasEncryptedEntry(withExtra)).toBe(true);
    // Sizes in a trailing data descriptor (bit 3): the walk stops, not knowing where the next entry is.
    const descriptor = Buffer.from(mixed);
    descriptor.writeUInt16LE(0x0008, 6);
    expect(zipHasEncryptedEntry(descriptor)).toBe(false);
    // A header cut short is not read.
    expect(zipHasEncryptedEntry(encryptedZip().subarray(0, 29))).toBe(false);
    expect(zipHasEncryptedEntry(encryptedZip().subarray(0, 30))).toBe(true);
  });
});

describe('the verdict on text', () => {
  it('calls text CSV when at least two rows have the same two or more fields', async () => {
    await expect(identify('name,parcel\nAmina,12/4\nJoseph,7/1\n')).resolves.toEqual(CSV);
    await expect(identify('a,b\nc,d\n')).resolves.toEqual(CSV);
    await expect(identify('a,b\n\nc,d\n')).resolves.toEqual(CSV);
    await expect(identify('a,b\n')).resolves.toEqual(TEXT);
    await expect(identify('a\nb\n')).resolves.toEqual(TEXT);
    await expect(identify('a,b\nc,d,e\n')).resolves.toEqual(TEXT);
    await expect(identify('a,b\nc\n')).resolves.toEqual(TEXT);
    await expect(identify('a,"b\nc,d\n')).resolves.toEqual(TEXT);
  });

  it('skips a UTF-8 byte order mark and reads text that is not UTF-8 as Latin-1', async () => {
    await expect(identify(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a,b\nc,d\n')]))).resolves.toEqual(CSV);
    await expect(identify(Buffer.from([0x61, 0x2c, 0xe9, 0x0a, 0x62, 0x2c, 0x63, 0x0a]))).resolves.toEqual(CSV);
    // Only all three bytes of the mark are skipped: a Latin-1 file may start with "ï" (0xEF), or "ï»".
    await expect(identify(Buffer.from('ïd,b\nc,d\n', 'latin1'))).resolves.toEqual(CSV);
    await expect(identify(Buffer.from('ï»,b\nc,d\n', 'latin1'))).resolves.toEqual(CSV);
  });

  it('allows tab, line feed, form feed and carriage return, and no other control character', async () => {
    await expect(identify('a\tb\fc\r\nd\n')).resolves.toEqual(TEXT);
    for (const byte of [0x00, 0x01, 0x08, 0x0b, 0x0e, 0x1f, 0x7f]) {
      await expect(identify(Buffer.from([0x61, byte, 0x62, 0x0a])), `byte ${byte}`).resolves.toEqual(BINARY);
    }
    await expect(identify(Buffer.from([0x61, 0x20, 0x7e, 0x0a]))).resolves.toEqual(TEXT);
  });

  it('decides a text longer than the first MiB from its complete lines, a character cut at the end left out', async () => {
    const row = 'Amina,12/4,é\n';
    const rows = row.repeat(Math.ceil((MiB + 100) / Buffer.byteLength(row)));
    // The first MiB ends inside a line (and possibly inside "é"): only the lines before it count.
    for (const cut of [0, 1, 2, 5]) {
      const text = Buffer.from('x'.repeat(cut) + rows);
      await expect(identify(text), `shifted by ${cut}`).resolves.toEqual(CSV);
    }
  });

  it('says so when the file is empty', async () => {
    await expect(identify('')).resolves.toEqual({ kind: 'resource', format: 'unknown', reason: 'the file is empty' });
  });

  it('takes string chunks as bytes', async () => {
    await expect(identifyResource(Readable.from(['a,b\n', 'c,d\n'], { objectMode: true }), DEFAULT_RESOURCE_TYPES)).resolves.toEqual(CSV);
  });
});
