import { S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../../core/ports';
import { S3ObjectStore, S3_CLIENT_CHECKSUMS } from '../../adapters/aws/s3-object-store';
import { awsClient, type PortBuilder } from './port';

export const objects: PortBuilder<ObjectStore> = (config) =>
  new S3ObjectStore(
    awsClient(new S3Client({ region: config.region, ...S3_CLIENT_CHECKSUMS, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}) })),
  );
