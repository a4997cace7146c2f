import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

/** What the object is created with (the PutObject / CreateMultipartUpload members we use). */
export interface StreamUploadTarget {
  Bucket: string;
  Key: string;
  ContentType: string;
  ContentDisposition?: string;
  Metadata?: Record<string, string>;
}

export interface StreamUploadLimits {
  /** Bytes per part (S3: at least 5 MiB except the last). */
  partSize: number;
  /** Parts uploading at once; reading the body pauses while this many are in flight. */
  queueSize: number;
}

/**
 * Streams `body` into S3 the way @aws-sdk/lib-storage's Upload does — one PutObject when it fits in a
 * part, else a multipart upload with `queueSize` parts in flight, aborted on failure — but in a fixed
 * set of `queueSize + 1` part buffers, allocated once and refilled. Upload concatenated a fresh part-sized
 * Buffer per part and held every source chunk until then; the export measured ~70 MB of such buffers
 * waiting for a full GC (bench/export.ts), against the ~30 MB here whatever the object's size.
 */
export async function uploadStream(
  s3: S3Client,
  target: StreamUploadTarget,
  body: Readable,
  limits: StreamUploadLimits,
): Promise<{ bytes: number }> {
  const { Bucket, Key } = target;
  const spare: Buffer<ArrayBuffer>[] = [];
  let part = Buffer.allocUnsafeSlow(limits.partSize);
  let filled = 0;
  let bytes = 0;
  let uploadId: string | undefined;
  let partNumber = 0;
  // Like Upload: with the SDK's default checksums (WHEN_SUPPORTED) each part carries a CRC32, so the
  // upload must be created with that algorithm and completed with each part's checksum.
  const checksummed = (await s3.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
  const completed: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;

  const throwIfFailed = (): void => {
    if (failure) throw failure.error;
  };

  /** Sends the filled part buffer (waiting for a free slot) and takes an empty one to fill next. */
  const sendPart = async (): Promise<void> => {
    while (inFlight.size >= limits.queueSize) await Promise.race(inFlight);
    throwIfFailed();
    if (uploadId === undefined) {
      const created = await s3.send(
        new CreateMultipartUploadCommand({ ...target, ...(checksummed ? { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 } : {}) }),
      );
      if (!created.UploadId) throw new Error(`CreateMultipartUpload for s3://${Bucket}/${Key} returned no UploadId`);
      uploadId = created.UploadId;
    }
    const buffer = part;
    const PartNumber = (partNumber += 1);
    const task: Promise<void> = s3
      .send(new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: buffer.subarray(0, filled) }))
      .then((out) => {
        if (!out.ETag) throw new Error(`UploadPart ${PartNumber} of s3://${Bucket}/${Key} returned no ETag`);
        completed.push({ PartNumber, ETag: out.ETag, ...(out.ChecksumCRC32 ? { ChecksumCRC32: out.ChecksumCRC32 } : {}) });
        // The request has been sent and answered: nothing reads this buffer any more.
        spare.push(buffer);
      })
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    part = spare.pop() ?? Buffer.allocUnsafeSlow(limits.partSize);
    filled = 0;
  };

  try {
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let offset = 0; offset < data.byteLength;) {
        // A full part is sent only once more data arrives, so an object of exactly one part is one PutObject.
        if (filled === limits.partSize) await sendPart();
        const copied = Math.min(limits.partSize - filled, data.byteLength - offset);
        part.set(data.subarray(offset, offset + copied), filled);
        filled += copied;
        offset += copied;
      }
      bytes += data.byteLength;
    }
    if (uploadId === undefined) {
      await s3.send(new PutObjectCommand({ ...target, Body: part.subarray(0, filled) }));
      return { bytes };
    }
    await sendPart();
    while (inFlight.size > 0) await Promise.race(inFlight);
    throwIfFailed();
    completed.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: completed } }));
    return { bytes };
  } catch (error) {
    body.destroy();
    if (uploadId !== undefined) {
      await Promise.allSettled(inFlight);
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => undefined);
    }
    throw error;
  }
}
