import * as z from 'zod';
import { importSizeRule } from '../capacity';
import { InvalidInput } from '../errors';
import { isRecord } from '../guards';
import { DELIVERY_FIELDS, withDelivery, type DeliveryType } from '../model';
import { ColumnMappingSchema, type ColumnMapping } from './mapping';

/**
 * How an import file gets into the upload bucket: a presigned POST for files up to 5 GiB, a multipart
 * upload with one presigned URL per part above that. The policy, not the browser, decides the key,
 * the size and the content type. The local S3 enforces these policies as S3 does (infra/local/s3-front/), and
 * test/unit/local-s3-auth.test.ts uploads against them.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** S3's limit for one POST/PUT; larger files go multipart. */
export const PRESIGNED_POST_MAX_BYTES = 5 * GiB;
/** Default for MAX_IMPORT_BYTES when the environment does not set it. */
export const DEFAULT_MAX_IMPORT_BYTES = 50 * GiB;
/** Default cap on the files of one batch request. */
export const DEFAULT_MAX_BATCH_FILES = 5000;

/** S3 multipart limits. */
export const MULTIPART_MIN_PART_BYTES = 5 * MiB;
export const MULTIPART_MAX_PART_BYTES = 5 * GiB;
export const MULTIPART_MAX_PARTS = 10_000;
/** Parts this size keep a browser's parallel uploads and resumes fine-grained; grown only to stay within 10,000 parts. */
export const DEFAULT_PART_BYTES = 64 * MiB;

export interface ImportLimits {
  maxImportBytes: number;
  maxBatchFiles: number;
}

const DEFAULT_LIMITS: ImportLimits = { maxImportBytes: DEFAULT_MAX_IMPORT_BYTES, maxBatchFiles: DEFAULT_MAX_BATCH_FILES };

/** type/subtype with optional parameters, as a browser's File.type gives it (RFC 9110 token characters). */
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"]*"|[A-Za-z0-9!#$&^_.+-]+))*$/;

/** Request-wide options, for one file or every file of a batch. */
const IMPORT_OPTIONS = { mapping: ColumnMappingSchema.optional(), dryRun: z.boolean().optional() };

const fileSpec = (limits: ImportLimits) =>
  z
    .object({
      fileName: z.string().trim().min(1, 'is required').max(1024),
      size: z
        .number()
        .int('must be a whole number of bytes')
        .min(1, 'must be at least 1 byte')
        .max(limits.maxImportBytes, importSizeRule(limits.maxImportBytes)),
      contentType: z.string().max(255).regex(MEDIA_TYPE, 'must be a media type such as text/csv'),
      sha256: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters')
        .transform((hex) => hex.toLowerCase())
        .optional(),
    })
    .strict();

export type ImportFileSpec = z.infer<ReturnType<typeof fileSpec>>;

/** One file, or a batch of files with one delivery for the batch; both normalized to `files`. */
export interface CreateImportRequest {
  delivery: DeliveryType;
  /** A column mapping given up front: a file whose header it fits does not wait in NEEDS_MAPPING. */
  mapping?: ColumnMapping;
  /** Check and validate only; nothing is written to the index. */
  dryRun?: boolean;
  batch: boolean;
  files: ImportFileSpec[];
}

/**
 * Validates the body of `POST /api/imports`: `{fileName,size,contentType,sha256?,delivery}` or
 * `{files:[{fileName,size,contentType,sha256?}…],delivery}` (`type` is accepted for `delivery`). Throws InvalidInput naming the first bad
 * field as a path (`size`, `files[2].sha256`).
 */
export function parseCreateImportRequest(body: unknown, limits: ImportLimits = DEFAULT_LIMITS): CreateImportRequest {
  const single = fileSpec(limits).extend(DELIVERY_FIELDS).extend(IMPORT_OPTIONS).transform(withDelivery);
  const batch = z
    .object({
      files: z
        .array(fileSpec(limits))
        .min(1, 'must list at least one file')
        .max(limits.maxBatchFiles, `must list at most ${limits.maxBatchFiles} files`),
      ...DELIVERY_FIELDS,
      ...IMPORT_OPTIONS,
    })
    .strict()
    .transform(withDelivery);
  const isBatch = isRecord(body) && 'files' in body;
  const parsed = (isBatch ? batch : single).safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? fieldPath(issue) : 'body';
    throw new InvalidInput(`${field}: ${issue?.message ?? 'invalid'}`, field);
  }
  const { mapping, dryRun } = parsed.data;
  const options = { ...(mapping ? { mapping } : {}), ...(dryRun ? { dryRun } : {}) };
  if ('files' in parsed.data) return { delivery: parsed.data.delivery, ...options, batch: true, files: parsed.data.files };
  const { delivery, mapping: _mapping, dryRun: _dryRun, ...file } = parsed.data;
  return { delivery, ...options, batch: false, files: [file] };
}

function fieldPath(issue: z.core.$ZodIssue): string {
  const path = [...issue.path];
  // An unknown key is reported on its parent; name the key itself.
  if (issue.code === 'unrecognized_keys' && issue.keys[0]) path.push(issue.keys[0]);
  if (path.length === 0) return 'body';
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i > 0 ? '.' : ''}${String(part)}`)).join('');
}

/** Where an import's upload lands: per user and import, never derived from the user's file name. */
export function uploadKey(userId: string, importId: string, random: string): string {
  for (const [name, value] of Object.entries({ userId, importId, random })) {
    if (!/^[A-Za-z0-9._-]{1,200}$/.test(value) || value === '.' || value === '..') {
      throw new InvalidInput(`${name} cannot be part of an object key: ${JSON.stringify(value)}`, name);
    }
  }
  return `uploads/${userId}/${importId}/${random}`;
}

/** The user and import an uploaded object belongs to, read back from its key (object-created events). */
export function parseUploadKey(key: string): { userId: string; importId: string } | undefined {
  const match = /^uploads\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)\/[A-Za-z0-9._-]+$/.exec(key);
  return match?.[1] && match[2] ? { userId: match[1], importId: match[2] } : undefined;
}

export type UploadMethod = 'post' | 'multipart';

export const uploadMethodFor = (size: number): UploadMethod => (size <= PRESIGNED_POST_MAX_BYTES ? 'post' : 'multipart');

/** The arguments for @aws-sdk/s3-presigned-post's createPresignedPost (minus client and Expires). */
export interface PresignedPostPlan {
  Bucket: string;
  Key: string;
  Conditions: Array<['content-length-range', number, number] | ['eq', string, string] | Record<string, string>>;
  Fields: Record<string, string>;
}

/**
 * The presigned POST policy for one file: exactly this bucket and key, exactly the declared content type,
 * and exactly the declared size (itself at most MAX_IMPORT_BYTES and 5 GiB), so the browser cannot upload
 * something bigger or of another type than it asked for.
 */
export function presignedPostPlan(input: {
  bucket: string;
  key: string;
  file: Pick<ImportFileSpec, 'size' | 'contentType'>;
}): PresignedPostPlan {
  if (uploadMethodFor(input.file.size) !== 'post') {
    throw new InvalidInput(
      `size: ${input.file.size} bytes is over the ${PRESIGNED_POST_MAX_BYTES}-byte presigned POST limit; use a multipart upload`,
      'size',
    );
  }
  return {
    Bucket: input.bucket,
    Key: input.key,
    Conditions: [
      { bucket: input.bucket },
      ['eq', '$key', input.key],
      ['eq', '$Content-Type', input.file.contentType],
      ['content-length-range', input.file.size, input.file.size],
    ],
    Fields: { 'Content-Type': input.file.contentType },
  };
}

export interface MultipartPlan {
  partBytes: number;
  partCount: number;
  /** The last part is the remainder (S3 allows it to be under the 5 MiB minimum). */
  lastPartBytes: number;
}

/** Parts for a multipart upload of `size` bytes: DEFAULT_PART_BYTES, grown in whole MiB only to stay within 10,000 parts. */
export function planMultipartUpload(size: number, preferredPartBytes = DEFAULT_PART_BYTES): MultipartPlan {
  if (!Number.isSafeInteger(size) || size < 1) throw new InvalidInput('size: must be a positive whole number of bytes', 'size');
  const needed = Math.ceil(Math.ceil(size / MULTIPART_MAX_PARTS) / MiB) * MiB;
  const partBytes = Math.max(MULTIPART_MIN_PART_BYTES, preferredPartBytes, needed);
  if (partBytes > MULTIPART_MAX_PART_BYTES) {
    throw new InvalidInput(`size: ${size} bytes is more than S3 accepts in ${MULTIPART_MAX_PARTS} parts`, 'size');
  }
  const partCount = Math.ceil(size / partBytes);
  return { partBytes, partCount, lastPartBytes: size - (partCount - 1) * partBytes };
}

/** The byte range of part `partNumber` (1-based), for the browser's Blob.slice(start, end). */
export function partRange(plan: MultipartPlan, partNumber: number): { start: number; end: number } {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > plan.partCount) {
    throw new InvalidInput(`partNumber: must be between 1 and ${plan.partCount}`, 'partNumber');
  }
  const start = (partNumber - 1) * plan.partBytes;
  return { start, end: start + (partNumber === plan.partCount ? plan.lastPartBytes : plan.partBytes) };
}
