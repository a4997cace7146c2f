import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

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
