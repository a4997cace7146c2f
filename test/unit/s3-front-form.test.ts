import { describe, expect, it } from 'vitest';
import { readPostForm } from '../../infra/local/s3-front/multipart-form';
import { S3Refusal } from '../../infra/local/s3-front/errors';

const boundary = '----ferryBoundary42';
const body = (file: string, after = '') =>
  Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nuploads/u/i/r\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="Content-Type"\r\n\r\ntext/csv\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n${file}\r\n` +
      `--${boundary}${after}--\r\n`,
  );

async function* inPieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const readAll = async (form: Awaited<ReturnType<typeof readPostForm>>) => {
  const parts: Buffer[] = [];
  for await (const chunk of form.file as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts).toString();
};

describe('the S3 front reads a POST form as a stream', () => {
  it.each([1, 7, 64, 100_000])('gives the same fields and file bytes however the body is cut (%i-byte pieces)', async (size) => {
    // File bytes that look like a delimiter's start must stay file bytes.
    const file = `id,text\r\n1,"--${boundary.slice(0, 10)}"\r\n2,\r\n-`;
    const form = await readPostForm(inPieces(body(file), size), boundary);
    expect(Object.fromEntries(form.fields)).toEqual({ key: 'uploads/u/i/r', 'content-type': 'text/csv' });
    expect(form.fileName).toBe('a.csv');
    expect(await readAll(form)).toBe(file);
  });

  it('refuses a form without a file field, and one whose file never ends', async () => {
    const noFile = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--${boundary}--\r\n`);
    await expect(readPostForm(inPieces(noFile, 16), boundary)).rejects.toBeInstanceOf(S3Refusal);
    const cut = body('x'.repeat(1000)).subarray(0, 400);
    const form = await readPostForm(inPieces(cut, 50), boundary);
    await expect(readAll(form)).rejects.toMatchObject({ code: 'MalformedPOSTRequest' });
  });

  it('refuses fields over 20 KB before the file', async () => {
    const huge = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="x-ignore-pad"\r\n\r\n${'p'.repeat(30_000)}\r\n--${boundary}--\r\n`);
    await expect(readPostForm(inPieces(huge, 4096), boundary)).rejects.toMatchObject({ status: 400, code: 'MalformedPOSTRequest' });
  });
});
