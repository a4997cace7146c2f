import { Readable } from 'node:stream';
import { S3Refusal } from './errors';

/**
 * Reads a multipart/form-data POST as S3 does: the fields up to the `file` field (kept, they are small and
 * bounded), then the file's bytes as a stream that is never held whole; whatever follows the file is ignored.
 */

/** The form fields before the file; S3 allows 20 KB of them. */
const MAX_FIELD_BYTES = 20 * 1024;

export interface PostForm {
  /** Field names in lower case (S3 compares them case-insensitively), values as sent. */
  fields: Map<string, string>;
  fileName: string;
  file: Readable;
}

const malformed = (why: string) => new S3Refusal(400, 'MalformedPOSTRequest', `The body of your POST request is not well-formed multipart/form-data: ${why}`);

export function boundaryOf(contentType: string | undefined): string {
  const match = /^multipart\/form-data\s*;.*?boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType ?? '');
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw malformed('no boundary.');
  return boundary;
}

export async function readPostForm(body: AsyncIterable<Buffer>, boundary: string): Promise<PostForm> {
  const chunks = body[Symbol.asyncIterator]();
  let pending = Buffer.alloc(0);
  const more = async (): Promise<boolean> => {
    const next = await chunks.next();
    if (next.done) return false;
    pending = Buffer.concat([pending, next.value]);
    return true;
  };
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The body starts with the first boundary, not preceded by CRLF; pretend it is.
  pending = Buffer.from('\r\n');
  const fields = new Map<string, string>();
  let read = 0;
  for (;;) {
    let start = pending.indexOf(delimiter);
    while (start < 0) {
      if (pending.length > MAX_FIELD_BYTES || !(await more())) throw malformed('the form ended before its file field.');
      start = pending.indexOf(delimiter);
    }
    let headersEnd = pending.indexOf('\r\n\r\n', start);
    while (headersEnd < 0) {
      if (pending.length > MAX_FIELD_BYTES || !(await more())) throw malformed('a part has no end of headers.');
      headersEnd = pending.indexOf('\r\n\r\n', start);
    }
    const headers = pending.subarray(start + delimiter.length, headersEnd).toString('utf8');
    if (headers.startsWith('--')) throw malformed('the form has no file field.');
    const disposition = /content-disposition:\s*form-data\s*;([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = /(?:^|;)\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw malformed('a part has no field name.');
    pending = pending.subarray(headersEnd + 4);
    if (name.toLowerCase() === 'file') {
      const fileName = /filename="([^"]*)"/i.exec(disposition)?.[1] ?? '';
      return { fields, fileName, file: Readable.from(fileBytes(pending, chunks, delimiter)) };
    }
    let end = pending.indexOf(delimiter);
    while (end < 0) {
      if (read + pending.length > MAX_FIELD_BYTES || !(await more())) throw malformed(`field ${name} has no end.`);
      end = pending.indexOf(delimiter);
    }
    read += end;
    if (read > MAX_FIELD_BYTES) throw new S3Refusal(400, 'MalformedPOSTRequest', 'Your POST request fields preceding the upload file were too large.');
    fields.set(name.toLowerCase(), pending.subarray(0, end).toString('utf8'));
    pending = pending.subarray(end);
  }
}

/** The file's bytes up to the next delimiter, holding back only as many bytes as a delimiter could straddle. */
async function* fileBytes(first: Buffer, chunks: AsyncIterator<Buffer>, delimiter: Buffer): AsyncGenerator<Buffer> {
  let pending = first;
  for (;;) {
    const end = pending.indexOf(delimiter);
    if (end >= 0) {
      if (end > 0) yield pending.subarray(0, end);
      // Drain the rest (the closing boundary, any fields after the file) so the client sees the answer.
      for (let next = await chunks.next(); !next.done; next = await chunks.next());
      return;
    }
    const safe = pending.length - (delimiter.length - 1);
    if (safe > 0) {
      yield pending.subarray(0, safe);
      pending = pending.subarray(safe);
    }
    const next = await chunks.next();
    if (next.done) throw malformed('the file field has no closing boundary.');
    pending = pending.length === 0 ? next.value : Buffer.concat([pending, next.value]);
  }
}
