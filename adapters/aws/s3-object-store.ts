import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { InvalidInput, NotFound, UploadChanged } from '../../core/errors';
import type { PresignedPostPlan } from '../../core/import/upload-policy';
import type {
  ByteRange,
  ListedPart,
  ObjectCondition,
  ObjectHead,
  ObjectLocation,
  ObjectStore,
  PresignedPost,
  PutObjectOptions,
  UploadedPart,
} from '../../core/ports';
import { unquotedEtag } from '../../core/etag';
import { uploadStream } from './s3-stream-upload';
import { awsErrorName, httpStatusOfAwsError, translateAwsError } from './transient';

/** 8 MiB parts, two in flight: three part buffers (24 MiB) however large the object. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;
/**
 * Settings for the S3 client the store presigns with: by default the SDK adds a CRC32 of the empty body
 * (x-amz-checksum-crc32, x-amz-sdk-checksum-algorithm) to presigned UploadPart URLs, and strict S3
 * stores reject the part the browser then sends. Checksums only where the API requires one.
 */
export const S3_CLIENT_CHECKSUMS = { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } as const;

/** CopyObject copies at most 5 GiB; larger objects are copied part by part (UploadPartCopy) in 1 GiB ranges. */
const SINGLE_COPY_MAX_BYTES = 5 * 1024 ** 3;
const COPY_PART_BYTES = 1024 ** 3;

/**
 * S3 (and the local S3) as the object store. Encryption is the bucket's default in AWS, so no SSE
 * headers are sent.
 */
export class S3ObjectStore implements ObjectStore {
  /** `presigner`: the client links are signed with (the local stack's follows the browser's host); by default `s3`. */
  constructor(
    private readonly s3: S3Client,
    private readonly presigner: () => S3Client = () => s3,
  ) {}

  async putStream(bucket: string, key: string, body: Readable, options: PutObjectOptions): Promise<{ bytes: number }> {
    const target = {
      Bucket: bucket,
      Key: key,
      ContentType: options.contentType,
      ...(options.contentDisposition ? { ContentDisposition: options.contentDisposition } : {}),
      ...(options.metadata ? { Metadata: options.metadata } : {}),
    };
    try {
      return await uploadStream(this.s3, target, body, { partSize: PART_SIZE, queueSize: QUEUE_SIZE });
    } catch (error) {
      translateAwsError(error, `uploading s3://${bucket}/${key}`);
    }
  }

  async getStream(bucket: string, key: string, condition: ObjectCondition & { range?: ByteRange } = {}): Promise<Readable> {
    const { range } = condition;
    // S3 answers an empty range with 416, and a whole object for a malformed one: never send either.
    if (range && range.end <= range.start) return Readable.from([]);
    try {
      const { Body } = await this.s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...ifMatchOf(condition),
          ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
        }),
      );
      if (!(Body instanceof Readable)) throw new Error(`s3://${bucket}/${key} has no readable body`);
      return Body;
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchKey' || httpStatusOfAwsError(error) === 404) throw new NotFound(`No object s3://${bucket}/${key}.`);
      throwIfChanged(error, bucket, key);
      translateAwsError(error, `reading s3://${bucket}/${key}`);
    }
  }

  async presignGet(bucket: string, key: string, expiresInSeconds: number, downloadName?: string): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ...(downloadName ? { ResponseContentDisposition: `attachment; filename="${downloadName.replace(/["\\\r\n]/g, '_')}"` } : {}),
    });
    return getSignedUrl(this.presigner(), command, { expiresIn: Math.max(1, Math.floor(expiresInSeconds)) });
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      translateAwsError(error, `deleting s3://${bucket}/${key}`);
    }
  }

  async head(bucket: string, key: string, condition: ObjectCondition = {}): Promise<ObjectHead | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...ifMatchOf(condition) }));
      return {
        bytes: out.ContentLength ?? 0,
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
        ...(out.ETag ? { etag: unquotedEtag(out.ETag) } : {}),
      };
    } catch (error) {
      if (awsErrorName(error) === 'NotFound' || awsErrorName(error) === 'NoSuchKey' || httpStatusOfAwsError(error) === 404) return undefined;
      throwIfChanged(error, bucket, key);
      translateAwsError(error, `reading the size of s3://${bucket}/${key}`);
    }
  }

  async copy(from: ObjectLocation, to: ObjectLocation, condition: ObjectCondition = {}): Promise<void> {
    const what = `copying s3://${from.bucket}/${from.key} to s3://${to.bucket}/${to.key}`;
    const head = await this.head(from.bucket, from.key, condition);
    if (!head) throw new NotFound(`No object s3://${from.bucket}/${from.key}.`);
    const CopySource = `${from.bucket}/${from.key.split('/').map(encodeURIComponent).join('/')}`;
    // Every copy request names the source's ETag: the pinned one, else the one just read (parts of one object).
    const CopySourceIfMatch = quotedEtag(condition.ifMatch ?? head.etag);
    const pinned = CopySourceIfMatch ? { CopySourceIfMatch } : {};
    try {
      if (head.bytes <= SINGLE_COPY_MAX_BYTES) {
        await this.s3.send(new CopyObjectCommand({ Bucket: to.bucket, Key: to.key, CopySource, ...(condition.ifMatch ? pinned : {}) }));
        return;
      }
      const { UploadId } = await this.s3.send(
        new CreateMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, ...(head.contentType ? { ContentType: head.contentType } : {}) }),
      );
      try {
        const parts: { PartNumber: number; ETag: string }[] = [];
        for (let start = 0, PartNumber = 1; start < head.bytes; start += COPY_PART_BYTES, PartNumber++) {
          const end = Math.min(start + COPY_PART_BYTES, head.bytes) - 1;
          const out = await this.s3.send(
            new UploadPartCopyCommand({
              Bucket: to.bucket,
              Key: to.key,
              UploadId,
              PartNumber,
              CopySource,
              CopySourceRange: `bytes=${start}-${end}`,
              ...pinned,
            }),
          );
          parts.push({ PartNumber, ETag: out.CopyPartResult?.ETag ?? '' });
        }
        await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId, MultipartUpload: { Parts: parts } }));
      } catch (error) {
        await this.s3.send(new AbortMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId })).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      throwIfChanged(error, from.bucket, from.key);
      translateAwsError(error, what);
    }
  }

  async presignPost(plan: PresignedPostPlan, expiresInSeconds: number): Promise<PresignedPost> {
    const { url, fields } = await createPresignedPost(this.presigner(), { ...plan, Expires: Math.max(1, Math.floor(expiresInSeconds)) });
    return { url, fields };
  }

  async createMultipartUpload(
    bucket: string,
    key: string,
    contentType: string,
    options: Pick<PutObjectOptions, 'contentDisposition' | 'metadata'> = {},
  ): Promise<{ uploadId: string }> {
    try {
      const { UploadId } = await this.s3.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          ContentType: contentType,
          ...(options.contentDisposition ? { ContentDisposition: options.contentDisposition } : {}),
          ...(options.metadata ? { Metadata: options.metadata } : {}),
        }),
      );
      if (!UploadId) throw new Error(`CreateMultipartUpload for s3://${bucket}/${key} returned no UploadId`);
      return { uploadId: UploadId };
    } catch (error) {
      translateAwsError(error, `starting a multipart upload to s3://${bucket}/${key}`);
    }
  }

  async presignUploadPart(bucket: string, key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<string> {
    const command = new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber });
    return getSignedUrl(this.presigner(), command, { expiresIn: Math.max(1, Math.floor(expiresInSeconds)) });
  }

  async completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    const Parts = [...parts].sort((a, b) => a.partNumber - b.partNumber).map((part) => ({ PartNumber: part.partNumber, ETag: part.etag }));
    try {
      await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts } }));
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchUpload') throw new NotFound(`No multipart upload ${uploadId} for s3://${bucket}/${key}.`, { cause: error });
      // S3's answer to a part that was never uploaded or whose ETag does not match: the caller's list is wrong.
      if (awsErrorName(error) === 'InvalidPart' || awsErrorName(error) === 'InvalidPartOrder') {
        throw new InvalidInput('A listed part was never uploaded, or its ETag does not match the uploaded part.', 'parts');
      }
      // Every part but the last must be at least 5 MiB: the parts were cut wrong, not the service's fault.
      if (awsErrorName(error) === 'EntityTooSmall') {
        throw new InvalidInput('Every part but the last must be at least 5 MiB (5,242,880 bytes); upload the parts as the plan cut them.', 'parts');
      }
      translateAwsError(error, `completing the multipart upload to s3://${bucket}/${key}`);
    }
  }

  async putPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<UploadedPart> {
    try {
      const { ETag } = await this.s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }));
      if (!ETag) throw new Error(`UploadPart ${partNumber} of s3://${bucket}/${key} returned no ETag`);
      return { partNumber, etag: ETag };
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchUpload') throw new NotFound(`No multipart upload ${uploadId} for s3://${bucket}/${key}.`, { cause: error });
      translateAwsError(error, `uploading part ${partNumber} of s3://${bucket}/${key}`);
    }
  }

  /** Every page of ListMultipartUploads under the key as prefix; only uploads of exactly this key are aborted. */
  async abortUploadsOf(bucket: string, key: string): Promise<number> {
    let aborted = 0;
    try {
      let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
      for (;;) {
        const out = await this.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key, ...markers }));
        for (const upload of out.Uploads ?? []) {
          if (upload.Key !== key || !upload.UploadId) continue;
          await this.abortMultipartUpload(bucket, key, upload.UploadId);
          aborted += 1;
        }
        if (!out.IsTruncated) return aborted;
        markers = {
          ...(out.NextKeyMarker ? { KeyMarker: out.NextKeyMarker } : {}),
          ...(out.NextUploadIdMarker ? { UploadIdMarker: out.NextUploadIdMarker } : {}),
        };
      }
    } catch (error) {
      translateAwsError(error, `aborting the multipart uploads of s3://${bucket}/${key}`);
    }
  }

  /** Every page of ListParts (1,000 parts a page). */
  async listParts(bucket: string, key: string, uploadId: string): Promise<ListedPart[]> {
    const parts: ListedPart[] = [];
    try {
      let marker: string | undefined;
      for (;;) {
        const out = await this.s3.send(
          new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, ...(marker ? { PartNumberMarker: marker } : {}) }),
        );
        for (const part of out.Parts ?? []) {
          if (part.PartNumber !== undefined && part.ETag) parts.push({ partNumber: part.PartNumber, etag: part.ETag, bytes: part.Size ?? 0 });
        }
        if (!out.IsTruncated || !out.NextPartNumberMarker) return parts;
        marker = out.NextPartNumberMarker;
      }
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchUpload') throw new NotFound(`No multipart upload ${uploadId} for s3://${bucket}/${key}.`, { cause: error });
      translateAwsError(error, `listing the parts of s3://${bucket}/${key}`);
    }
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchUpload') return;
      translateAwsError(error, `aborting the multipart upload to s3://${bucket}/${key}`);
    }
  }
}

const quotedEtag = (etag: string | undefined): string | undefined => (etag === undefined ? undefined : `"${unquotedEtag(etag)}"`);
const ifMatchOf = (condition: ObjectCondition): { IfMatch?: string } => (condition.ifMatch ? { IfMatch: quotedEtag(condition.ifMatch) } : {});

/** S3's answer to a failed If-Match (412 PreconditionFailed): another object is under the key now. */
function throwIfChanged(error: unknown, bucket: string, key: string): void {
  if (awsErrorName(error) === 'PreconditionFailed' || httpStatusOfAwsError(error) === 412) {
    throw new UploadChanged(`s3://${bucket}/${key} is no longer the object that was uploaded (its ETag changed).`, { cause: error });
  }
}
