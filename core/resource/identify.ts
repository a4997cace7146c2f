import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { fileTypeFromBuffer } from 'file-type';
import type { FileTaskInput } from '../import/job';
import { incompleteUtf8Tail } from '../import/utf8';
import type { Clock, ImportRecords, ObjectStore } from '../ports';
import { DEFAULT_RESOURCE_TYPES, isAllowedType } from './config';
import type { ResourceRecord } from './records';
import { pinnedUpload } from '../import/records';

/** A resource's type as its bytes show it. */
export interface DetectedType {
  mime: string;
  /** The usual file extension, without a dot. */
  ext: string;
}

/**
 * The identify check's verdict for a resource: `resource` when its type is allowed and it is not
 * encrypted, `unknown` (rejected) otherwise; `reason` says why, in words a user can act on.
 */
export interface ResourceVerdict {
  /** Tells it from an import's FormatVerdict (the reject step words its reason by it). */
  kind: 'resource';
  format: 'resource' | 'unknown';
  reason: string;
  type?: DetectedType;
}

const MiB = 1024 * 1024;
/** What type detection sees: file-type looks inside ZIP containers, so give it room past the first entry. */
const HEAD_BYTES = MiB;
/** A PDF's trailer (and a cross-reference stream's dictionary) sits in its last bytes. */
const TAIL_BYTES = MiB;

const CFB_MIME = 'application/x-cfb';
const PDF_MIME = 'application/pdf';
/** Formats that are ZIP containers underneath, whose entries can be encrypted one by one. */
const ZIP_BASED =
  /^application\/(zip|epub\+zip|java-archive|vnd\.openxmlformats-officedocument\..+|vnd\.oasis\.opendocument\..+|vnd\.android\.package-archive)$/;

const utf16 = (name: string): Buffer => Buffer.from(name, 'utf16le');
/** Directory entry names of a Compound File (OLE2) container: an encrypted OOXML file, or which legacy Office file it is. */
const CFB_ENTRIES = {
  encryptionInfo: utf16('EncryptionInfo'),
  encryptedPackage: utf16('EncryptedPackage'),
  word: utf16('WordDocument'),
  excel: utf16('Workbook'),
  excelOld: utf16('Book'),
  powerPoint: utf16('PowerPoint Document'),
} as const;
type CfbEntry = keyof typeof CFB_ENTRIES;

/**
 * Identifies a resource from its bytes, never from its name or claimed type: `file-type` for binary
 * formats, Ferry's own checks for text (CSV or plain) and for encryption (ZIP entries' general-purpose
 * bit 0, a PDF trailer's /Encrypt, an OOXML file wrapped in a Compound File with EncryptionInfo). Reads
 * the first MiB; PDFs and Compound Files are read to the end (their telling parts can be anywhere), the
 * rest stop there. Memory stays bounded whatever the size.
 */
export async function identifyResource(stream: Readable, allowlist: readonly string[]): Promise<ResourceVerdict> {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  try {
    const head = await readHead(chunks, HEAD_BYTES);
    if (head.bytes.length === 0) return unknown('the file is empty');
    const detected = await fileTypeFromBuffer(head.bytes);
    if (!detected) return verdictOf(textType(head.bytes, head.ended), allowlist);
    if (ZIP_BASED.test(detected.mime) && zipHasEncryptedEntry(head.bytes)) {
      return unknown('the file is password-protected (its ZIP entries are encrypted), so nobody could open it later', detected);
    }
    if (detected.mime === PDF_MIME) {
      const tail = await readTail(chunks, head, TAIL_BYTES);
      if (pdfIsEncrypted(tail))
        return unknown('the PDF is encrypted or password-protected (its trailer names an /Encrypt dictionary)', detected);
      return verdictOf(detected, allowlist);
    }
    if (detected.mime === CFB_MIME) {
      const entries = await findCfbEntries(chunks, head);
      if (entries.has('encryptionInfo') || entries.has('encryptedPackage')) {
        return unknown('the Office document is password-protected (it is an encrypted package with EncryptionInfo)', detected);
      }
      return verdictOf(legacyOfficeType(entries) ?? detected, allowlist);
    }
    return verdictOf(detected, allowlist);
  } finally {
    stream.destroy();
  }
}

/**
 * "Identify format" for a resource (the import's identify task reads the record, sees its kind and calls this):
 * the type from the bytes, checked against the allowlist and for encryption, recorded on the record.
 */
export async function identifyResourceType(
  deps: { imports: ImportRecords; objects: ObjectStore; clock: Clock; config?: { resourceTypes?: readonly string[] } },
  record: ResourceRecord,
  input: FileTaskInput,
): Promise<ResourceVerdict> {
  const stream = await deps.objects.getStream(record.upload.bucket, record.upload.key, pinnedUpload(record));
  const verdict = await identifyResource(stream, deps.config?.resourceTypes ?? DEFAULT_RESOURCE_TYPES);
  await deps.imports.update(
    input.importId,
    { executionArn: input.executionArn, checks: { format: verdict.format }, ...(verdict.type ? { detectedType: verdict.type } : {}) },
    deps.clock.now(),
  );
  return verdict;
}

function verdictOf(type: DetectedType | undefined, allowlist: readonly string[]): ResourceVerdict {
  if (!type) return unknown('Ferry could not tell what kind of file this is: it is binary, and of no format Ferry recognises');
  if (!isAllowedType(allowlist, type.mime))
    return unknown(`the file is ${describe(type)}, which is not a type Ferry accepts as a resource`, type);
  return { kind: 'resource', format: 'resource', reason: `the file is ${describe(type)}`, type };
}

const describe = (type: DetectedType): string => `${type.ext.toUpperCase()} (${type.mime})`;

const unknown = (reason: string, type?: DetectedType): ResourceVerdict => ({
  kind: 'resource',
  format: 'unknown',
  reason,
  ...(type ? { type } : {}),
});

interface Head {
  bytes: Buffer;
  /** Read past the head already (the chunk that crossed it). */
  overflow: Buffer;
  ended: boolean;
}

const asBuffer = (chunk: Buffer | string): Buffer => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk);

async function readHead(chunks: AsyncIterator<Buffer | string>, limit: number): Promise<Head> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < limit) {
    const next = await chunks.next();
    if (next.done) return { bytes: Buffer.concat(parts, length), overflow: Buffer.alloc(0), ended: true };
    const chunk = asBuffer(next.value);
    parts.push(chunk);
    length += chunk.length;
  }
  const all = Buffer.concat(parts, length);
  return { bytes: all.subarray(0, limit), overflow: all.subarray(limit), ended: false };
}

/** The last `limit` bytes of the whole file. */
async function readTail(chunks: AsyncIterator<Buffer | string>, head: Head, limit: number): Promise<Buffer> {
  let tail = Buffer.concat([head.bytes, head.overflow]);
  if (!head.ended) {
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      tail = Buffer.concat([tail, asBuffer(next.value)]);
      if (tail.length > 2 * limit) tail = tail.subarray(tail.length - limit);
    }
  }
  return tail.subarray(Math.max(0, tail.length - limit));
}

/** Which of the telling directory entries a Compound File holds, reading it all (with an overlap, so a name split between chunks is found). */
async function findCfbEntries(chunks: AsyncIterator<Buffer | string>, head: Head): Promise<Set<CfbEntry>> {
  const found = new Set<CfbEntry>();
  const overlap = Math.max(...Object.values(CFB_ENTRIES).map((name) => name.length)) - 1;
  let carry = Buffer.alloc(0);
  const search = (chunk: Buffer) => {
    const window = Buffer.concat([carry, chunk]);
    for (const [entry, name] of Object.entries(CFB_ENTRIES) as Array<[CfbEntry, Buffer]>) if (window.includes(name)) found.add(entry);
    carry = window.subarray(Math.max(0, window.length - overlap));
  };
  search(Buffer.concat([head.bytes, head.overflow]));
  if (!head.ended) for (let next = await chunks.next(); !next.done; next = await chunks.next()) search(asBuffer(next.value));
  return found;
}

function legacyOfficeType(entries: Set<CfbEntry>): DetectedType | undefined {
  if (entries.has('word')) return { mime: 'application/msword', ext: 'doc' };
  if (entries.has('excel') || entries.has('excelOld')) return { mime: 'application/vnd.ms-excel', ext: 'xls' };
  if (entries.has('powerPoint')) return { mime: 'application/vnd.ms-powerpoint', ext: 'ppt' };
  return undefined;
}

/** An /Encrypt entry (an indirect reference or an inline dictionary) in the trailer or cross-reference stream dictionary. */
export const pdfIsEncrypted = (tail: Buffer): boolean => /\/Encrypt\s*(\d+\s+\d+\s+R|<<)/.test(tail.toString('latin1'));

/**
 * Walks the ZIP local file headers in `bytes` and says whether any entry has general-purpose bit 0
 * (encrypted) set. Stops at the first entry whose size is only in a trailing data descriptor (bit 3).
 */
export function zipHasEncryptedEntry(bytes: Buffer): boolean {
  let at = 0;
  while (at + 30 <= bytes.length && bytes.readUInt32LE(at) === 0x04034b50) {
    const flags = bytes.readUInt16LE(at + 6);
    if (flags & 0x0001) return true;
    if (flags & 0x0008) return false;
    const compressedSize = bytes.readUInt32LE(at + 18);
    at += 30 + bytes.readUInt16LE(at + 26) + bytes.readUInt16LE(at + 28) + compressedSize;
  }
  return false;
}

/**
 * Text Ferry recognises itself (file-type knows only binary formats): no control characters but tab,
 * line breaks and form feed; CSV when at least two rows parse to the same number (two or more) of fields.
 * `complete`: the bytes are the whole file, so the last line is not cut.
 */
function textType(bytes: Buffer, complete: boolean): DetectedType | undefined {
  let sample = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (!complete) sample = sample.subarray(0, sample.length - incompleteUtf8Tail(sample));
  for (const byte of sample) {
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d) || byte === 0x7f) return undefined;
  }
  const text = sample.toString(isUtf8Text(sample) ? 'utf8' : 'latin1');
  const lines = complete ? text : text.slice(0, Math.max(0, text.lastIndexOf('\n') + 1));
  return looksLikeCsv(lines) ? { mime: 'text/csv', ext: 'csv' } : { mime: 'text/plain', ext: 'txt' };
}

const isUtf8Text = (bytes: Buffer): boolean => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
};

function looksLikeCsv(text: string): boolean {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch {
    return false;
  }
  const width = records[0]?.length ?? 0;
  return records.length >= 2 && width >= 2 && records.every((record) => record.length === width);
}
