import { AbortMultipartUploadCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/**
 * The local stand-in for the exports bucket's lifecycle rule: deletes objects under `prefix`
 * last modified before `olderThan`. Returns how many it deleted.
 */
export async function sweepExpiredObjects(s3: S3Client, bucket: string, prefix: string, olderThan: Date): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    const expired = (page.Contents ?? []).filter((o) => o.Key && o.LastModified && o.LastModified < olderThan);
    if (expired.length) {
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: expired.map((o) => ({ Key: o.Key })) } }));
      deleted += expired.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}

/**
 * The local stand-in for the buckets' AbortIncompleteMultipartUpload rules (infra/aws/resources/storage.yml): aborts
 * multipart uploads initiated before `olderThan`, such as a browser's upload abandoned part-way. Returns how many.
 */
export async function abortStaleMultipartUploads(s3: S3Client, bucket: string, olderThan: Date): Promise<number> {
  const { Uploads = [] } = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  const stale = Uploads.filter((upload) => upload.Key && upload.UploadId && upload.Initiated && upload.Initiated < olderThan);
  for (const upload of stale) await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
  return stale.length;
}
