import { Readable, Transform, pipeline } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NotFound } from '../../core/errors';
import type { ObjectStore, PutObjectOptions } from '../../core/ports';
import { awsErrorName, httpStatusOfAwsError, translateAwsError } from './transient';

/** 8 MiB parts, two in flight: at most ~24 MiB buffered however large the object. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/**
 * S3 (and the local S3) as the object store. Encryption is the bucket's default in AWS, so no SSE
 * headers are sent.
 */
export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  async putStream(bucket: string, key: string, body: Readable, options: PutObjectOptions): Promise<{ bytes: number }> {
    let bytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    // pipeline, not pipe: an error in the source (e.g. the search failing mid-export) reaches the upload.
    pipeline(body, counted, () => {});
    const upload = new Upload({
      client: this.s3,
      queueSize: QUEUE_SIZE,
      partSize: PART_SIZE,
      leavePartsOnError: false,
      params: {
        Bucket: bucket,
        Key: key,
        Body: counted,
        ContentType: options.contentType,
        ...(options.contentDisposition ? { ContentDisposition: options.contentDisposition } : {}),
        ...(options.metadata ? { Metadata: options.metadata } : {}),
      },
    });
    try {
      await upload.done();
    } catch (error) {
      body.destroy();
      translateAwsError(error, `uploading s3://${bucket}/${key}`);
    }
    return { bytes };
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    try {
      const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!(Body instanceof Readable)) throw new Error(`s3://${bucket}/${key} has no readable body`);
      return Body;
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchKey' || httpStatusOfAwsError(error) === 404) throw new NotFound(`No object s3://${bucket}/${key}.`);
      translateAwsError(error, `reading s3://${bucket}/${key}`);
    }
  }

  async presignGet(bucket: string, key: string, expiresInSeconds: number, downloadName?: string): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ...(downloadName ? { ResponseContentDisposition: `attachment; filename="${downloadName.replace(/["\\\r\n]/g, '_')}"` } : {}),
    });
    return getSignedUrl(this.s3, command, { expiresIn: Math.max(1, Math.floor(expiresInSeconds)) });
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      translateAwsError(error, `deleting s3://${bucket}/${key}`);
    }
  }
}
