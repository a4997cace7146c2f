/**
 * s3rver completes a multipart upload by opening each listed part's file with no error listener, so a part
 * that was never uploaded raised an uncaught ENOENT and ended the whole local stack. S3 answers such a
 * request with 400 InvalidPart (also for an ETag that does not match); this check in front of s3rver's
 * store does the same, before any file is opened. S3 also refuses a part other than the last that is under
 * 5 MiB (400 EntityTooSmall), which s3rver accepted: checked here too, so a writer cutting parts too small
 * fails locally as it would on AWS.
 */
import { createRequire } from 'node:module';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
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

/** S3's smallest part, except an upload's last (CompleteMultipartUpload answers EntityTooSmall). */
const MIN_PART_BYTES = 5 * 1024 * 1024;

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
    for (const [index, part] of parts.entries()) {
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
      const size = index < parts.length - 1 ? (await stat(join(uploadDir, String(part.number)))).size : undefined;
      if (size !== undefined && size < MIN_PART_BYTES) {
        throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
          ProposedSize: size,
          MinSizeAllowed: MIN_PART_BYTES,
          PartNumber: part.number,
          ETag: part.etag,
        });
      }
    }
    return complete(bucket, uploadId, parts);
  };
}

/** An incomplete multipart upload, as ListMultipartUploads lists it. */
export interface OpenMultipartUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** An uploaded part, as ListParts lists it. */
export interface UploadedPartFile {
  partNumber: number;
  etag: string;
  bytes: number;
  lastModified: Date;
}

/**
 * ListMultipartUploads, ListParts and AbortMultipartUpload, which s3rver lacks (it answers NotImplemented and 405): the
 * local S3's front serves them from s3rver's own upload directories, so what an upload leaves behind can be
 * listed and aborted as in S3.
 */
export interface MultipartUploads {
  list(bucket: string, prefix: string): Promise<OpenMultipartUpload[]>;
  /** False when there is no such upload of that key (S3: 404 NoSuchUpload). */
  abort(bucket: string, key: string, uploadId: string): Promise<boolean>;
  /** The upload's parts by number; undefined when there is no such upload of that key. */
  parts(bucket: string, key: string, uploadId: string): Promise<UploadedPartFile[] | undefined>;
}

export function multipartUploadsOf(server: S3rver): MultipartUploads {
  const store = (server as unknown as { store: MultipartStore }).store;
  const uploadsDir = (bucket: string) => store.getResourcePath(bucket, undefined, 'uploads');
  const keyOf = (bucket: string, uploadId: string) =>
    /^[\w-]+$/.test(uploadId) ? readFile(join(uploadsDir(bucket), uploadId, 'key'), 'utf8').catch(() => undefined) : Promise.resolve(undefined);
  return {
    async list(bucket, prefix) {
      const ids = await readdir(uploadsDir(bucket)).catch(() => [] as string[]);
      const uploads = await Promise.all(
        ids.map(async (uploadId): Promise<OpenMultipartUpload | undefined> => {
          const key = await keyOf(bucket, uploadId);
          if (key === undefined || !key.startsWith(prefix)) return undefined;
          // An upload completed or aborted while this lists is gone, as S3 would no longer list it: not an error.
          const initiated = await stat(join(uploadsDir(bucket), uploadId)).then((info) => info.mtime, () => undefined);
          return initiated ? { key, uploadId, initiated } : undefined;
        }),
      );
      return uploads.filter((upload): upload is OpenMultipartUpload => upload !== undefined).sort((a, b) => a.key.localeCompare(b.key));
    },
    async parts(bucket, key, uploadId) {
      if ((await keyOf(bucket, uploadId)) !== key) return undefined;
      const dir = join(uploadsDir(bucket), uploadId);
      const names = await readdir(dir).catch(() => [] as string[]);
      const parts = await Promise.all(
        names
          .filter((name) => /^\d+\.md5$/.test(name))
          .map(async (name): Promise<UploadedPartFile | undefined> => {
            const partNumber = Number(name.slice(0, -'.md5'.length));
            // s3rver writes the .md5 once the part's bytes are stored: a part being written is not listed yet.
            const [etag, info] = await Promise.all([
              readFile(join(dir, name), 'utf8').catch(() => undefined),
              stat(join(dir, String(partNumber))).catch(() => undefined),
            ]);
            return etag && info ? { partNumber, etag: etag.trim(), bytes: info.size, lastModified: info.mtime } : undefined;
          }),
      );
      return parts.filter((part): part is UploadedPartFile => part !== undefined).sort((a, b) => a.partNumber - b.partNumber);
    },
    async abort(bucket, key, uploadId) {
      if ((await keyOf(bucket, uploadId)) !== key) return false;
      await rm(join(uploadsDir(bucket), uploadId), { recursive: true, force: true });
      return true;
    },
  };
}
