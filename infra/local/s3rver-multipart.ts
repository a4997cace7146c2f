/**
 * s3rver completes a multipart upload by opening each listed part's file with no error listener, so a part
 * that was never uploaded raised an uncaught ENOENT and ended the whole local stack. S3 answers such a
 * request with 400 InvalidPart (also for an ETag that does not match); this check in front of s3rver's
 * store does the same, before any file is opened.
 */
import { createRequire } from 'node:module';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type S3rver from 's3rver';

interface ListedPart {
  number: number;
  etag: string;
}

interface MultipartStore {
  getResourcePath(bucket: string, key: string | undefined, resourceType: string): string;
  putObjectMultipart(bucket: string, uploadId: string, parts: ListedPart[]): Promise<unknown>;
}

type S3ErrorClass = new (code: string, message: string, detail?: Record<string, unknown>) => Error;
const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error') as S3ErrorClass;

export function refuseMissingParts(server: S3rver): void {
  const store = (server as unknown as { store: MultipartStore }).store;
  const complete = store.putObjectMultipart.bind(store);
  store.putObjectMultipart = async (bucket, uploadId, parts) => {
    const uploadDir = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    const known = /^[\w-]+$/.test(uploadId) && (await readFile(join(uploadDir, 'key')).then(() => true, () => false));
    if (!known) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    let previous = 0;
    for (const part of parts) {
      if (!(part.number > previous)) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order.');
      previous = part.number;
      const md5 = await readFile(join(uploadDir, `${part.number}.md5`), 'utf8').catch(() => undefined);
      if (md5 === undefined || md5.trim() !== part.etag) {
        throw new S3Error(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          { UploadId: uploadId, PartNumber: part.number },
        );
      }
    }
    return complete(bucket, uploadId, parts);
  };
}

/** An upload s3rver holds that was neither completed nor aborted. */
export interface PendingUpload {
  key: string;
  uploadId: string;
}

/**
 * The multipart calls s3rver does not implement (it answers 405 / NotImplemented), over its own store:
 * AbortMultipartUpload removes the upload's parts; ListMultipartUploads lists what is still pending.
 * The verifying front (s3-front/front.ts) answers them after checking the signature, as S3 would.
 */
export interface MultipartAdmin {
  /** False when there is no such upload (S3: 404 NoSuchUpload). */
  abort(bucket: string, uploadId: string): Promise<boolean>;
  list(bucket: string, prefix: string): Promise<PendingUpload[]>;
}

export function multipartAdmin(server: S3rver): MultipartAdmin {
  const store = (server as unknown as { store: MultipartStore }).store;
  const uploadsOf = (bucket: string) => store.getResourcePath(bucket, undefined, 'uploads');
  return {
    async abort(bucket, uploadId) {
      if (!/^[\w-]+$/.test(uploadId)) return false;
      const dir = join(uploadsOf(bucket), uploadId);
      const known = await readFile(join(dir, 'key')).then(() => true, () => false);
      if (known) await rm(dir, { recursive: true, force: true });
      return known;
    },
    async list(bucket, prefix) {
      const ids = await readdir(uploadsOf(bucket)).catch(() => [] as string[]);
      const pending: PendingUpload[] = [];
      for (const uploadId of ids) {
        const key = await readFile(join(uploadsOf(bucket), uploadId, 'key'), 'utf8').catch(() => undefined);
        if (key !== undefined && key.startsWith(prefix)) pending.push({ key, uploadId });
      }
      return pending.sort((a, b) => a.key.localeCompare(b.key));
    },
  };
}
