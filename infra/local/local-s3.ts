import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';

/** Browsers download exports and (for imports) upload straight to the local S3, so it answers CORS. */
const CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

export interface LocalS3 {
  endpoint: string;
  server: S3rver;
  close(): Promise<void>;
}

/** s3rver keeps objects under `<dataDir>/s3`, so they survive a restart. */
export async function startLocalS3(options: { dataDir: string; port: number; buckets: string[] }): Promise<LocalS3> {
  const directory = join(options.dataDir, 's3');
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    directory,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [CORS] })),
  });
  const address = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://localhost:${address.port}`,
    server,
    close: () => server.close(),
  };
}
