import { S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../../core/ports';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import type { PortBuilder } from './port';

export const objects: PortBuilder<ObjectStore> = (config) =>
  new S3ObjectStore(
    new S3Client({ region: config.region, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}) }),
  );
