import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RESOURCE_TYPES, isAllowedType, parseResourceTypes } from '../../core/resource/config';
import { identifyResource, pdfIsEncrypted, zipHasEncryptedEntry } from '../../core/resource/identify';
import { compoundFile, docx, EICAR, encryptedZip, jpeg, pdf, windowsExecutable, zip } from '../fixtures/resource-files';

const identify = (bytes: Buffer | string, allowlist = DEFAULT_RESOURCE_TYPES, chunkBytes = 64 * 1024) => {
  const data = Buffer.from(bytes);
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkBytes) chunks.push(data.subarray(at, at + chunkBytes));
  return identifyResource(Readable.from(chunks), allowlist);
};

describe('identifying a resource from its bytes', () => {
  it('knows a JPEG, a PDF and a Word document by their bytes and keeps them (they are on the default allowlist)', async () => {
    expect(await identify(await jpeg(64, 48))).toMatchObject({ format: 'resource', type: { mime: 'image/jpeg', ext: 'jpg' } });
    expect(await identify(pdf())).toMatchObject({ format: 'resource', type: { mime: 'application/pdf' } });
    expect(await identify(docx())).toMatchObject({
      format: 'resource',
      type: { mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', ext: 'docx' },
    });
  });

  it('rejects a Windows executable whatever it is called, naming what it is', async () => {
    const verdict = await identify(windowsExecutable());
    expect(verdict.format).toBe('unknown');
    expect(verdict.type?.mime).toBe('application/x-msdownload');
    expect(verdict.reason).toContain('not a type Ferry accepts');
  });

  it('rejects a password-protected ZIP for its encrypted entries, not merely for being a ZIP', async () => {
    const verdict = await identify(encryptedZip(), [...DEFAULT_RESOURCE_TYPES, 'application/zip']);
    expect(verdict).toMatchObject({ format: 'unknown', type: { mime: 'application/zip' } });
    expect(verdict.reason).toContain('password-protected');
    expect(await identify(zip([{ name: 'a.txt', data: Buffer.from('plain') }]), ['application/zip'])).toMatchObject({ format: 'resource' });
  });

  it('rejects a PDF whose trailer names an /Encrypt dictionary', async () => {
    const verdict = await identify(pdf('secret', { encrypt: true }));
    expect(verdict.format).toBe('unknown');
    expect(verdict.reason).toContain('encrypted');
    expect(pdfIsEncrypted(pdf())).toBe(false);
  });

  it('finds the /Encrypt of a PDF larger than the sampled head, in its trailer at the end', async () => {
    const padding = Buffer.alloc(3 * 1024 * 1024, 0x20);
    const big = pdf('secret', { encrypt: true });
    const header = big.subarray(0, 16);
    const verdict = await identify(Buffer.concat([header, padding, big.subarray(16)]));
    expect(verdict.reason).toContain('encrypted');
  });

  it('rejects an encrypted Office document (a Compound File holding EncryptionInfo) and tells legacy Office files apart', async () => {
    const encrypted = await identify(compoundFile(['EncryptionInfo', 'EncryptedPackage']));
    expect(encrypted.format).toBe('unknown');
    expect(encrypted.reason).toContain('password-protected');
    expect(await identify(compoundFile(['WordDocument']))).toMatchObject({ format: 'resource', type: { mime: 'application/msword' } });
    expect(await identify(compoundFile(['Workbook']))).toMatchObject({ format: 'resource', type: { mime: 'application/vnd.ms-excel' } });
  });

  it('finds a Compound File entry name split across two chunks of the stream', async () => {
    const file = compoundFile(['EncryptionInfo']);
    const at = file.indexOf(Buffer.from('EncryptionInfo', 'utf16le')) + 7;
    const verdict = await identifyResource(Readable.from([file.subarray(0, at), file.subarray(at)]), DEFAULT_RESOURCE_TYPES);
    expect(verdict.format).toBe('unknown');
  });

  it('recognises CSV and plain text itself, and refuses binary it cannot name', async () => {
    expect(await identify('name,parcel\nAmina,12/4\nJoseph,7/1\n')).toMatchObject({ type: { mime: 'text/csv' } });
    expect(await identify('Field notes, day one.\nThe boundary stone is gone.\n')).toMatchObject({ type: { mime: 'text/plain' } });
    expect(await identify(EICAR)).toMatchObject({ format: 'resource', type: { mime: 'text/plain' } });
    const binary = await identify(Buffer.from([0x00, 0x01, 0x02, 0x03, 0x10, 0x11]));
    expect(binary.format).toBe('unknown');
    expect(binary.reason).toContain('could not tell');
    expect((await identify('')).reason).toBe('the file is empty');
  });

  it('obeys the allowlist: a type left off it is rejected', async () => {
    const verdict = await identify(pdf(), ['image/*']);
    expect(verdict.format).toBe('unknown');
    expect(verdict.reason).toBe('the file is PDF (application/pdf), which is not a type Ferry accepts as a resource');
  });

  it('walks the ZIP local headers: an encrypted second entry is found past a plain first one', () => {
    const plain = zip([{ name: 'a.txt', data: Buffer.from('a') }]);
    const secret = encryptedZip();
    const firstEntry = plain.subarray(0, 30 + 'a.txt'.length + 1);
    expect(zipHasEncryptedEntry(Buffer.concat([firstEntry, secret]))).toBe(true);
    expect(zipHasEncryptedEntry(plain)).toBe(false);
  });
});

describe('RESOURCE_TYPES', () => {
  it('defaults to images, PDF, Office and OpenDocument, CSV, plain text and any audio', () => {
    const types = parseResourceTypes(undefined);
    for (const mime of [
      'image/png',
      'application/pdf',
      'application/vnd.oasis.opendocument.text',
      'text/csv',
      'text/plain',
      'audio/mpeg',
      'audio/ogg',
    ]) {
      expect(isAllowedType(types, mime), mime).toBe(true);
    }
    expect(isAllowedType(types, 'application/x-msdownload')).toBe(false);
    expect(isAllowedType(types, 'application/zip')).toBe(false);
  });

  it('reads a comma- or space-separated list and refuses what is not a MIME type', () => {
    expect(parseResourceTypes('image/png, application/pdf  audio/*')).toEqual(['image/png', 'application/pdf', 'audio/*']);
    expect(() => parseResourceTypes('pdf')).toThrow(/RESOURCE_TYPES/);
  });
});
