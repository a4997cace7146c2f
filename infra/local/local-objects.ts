import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore, S3_CLIENT_CHECKSUMS } from '../../adapters/aws/s3-object-store';
import type { Config } from '../../functions/config';
import { awsClient } from '../../functions/ports/port';
import { browserHost } from './browser-host';

/**
 * The local S3 as the object store, as functions/ports/objects.ts builds it, except that links presigned while
 * answering a browser name the host it used (`127.0.0.1` or `localhost`): SigV4 signs the host, so the link
 * is signed for that name rather than rewritten after.
 */
export function localObjects(config: Config, s3Endpoint: string): S3ObjectStore {
  const clientFor = (endpoint: string) =>
    awsClient(new S3Client({ region: config.region, ...S3_CLIENT_CHECKSUMS, endpoint, forcePathStyle: true }));
  const s3 = clientFor(s3Endpoint);
  const presigners = new Map<string, S3Client>();
  const presigner = (): S3Client => {
    const host = browserHost();
    const endpoint = new URL(s3Endpoint);
    if (host === undefined || host === endpoint.hostname) return s3;
    let client = presigners.get(host);
    if (!client) {
      endpoint.hostname = host;
      client = clientFor(endpoint.origin);
      presigners.set(host, client);
    }
    return client;
  };
  return new S3ObjectStore(s3, presigner);
}
