import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';
import { freePort } from './free-port';
import { startS3Front } from './s3-front/front';
import { multipartAdmin } from './s3rver-multipart';
import type { Credentials } from './s3-front/sigv4';

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

/**
 * s3rver keeps objects under `<dataDir>/s3`, so they survive a restart. It listens on a loopback port of its
 * own; the public port is the verifying front (s3-front/), which lets through only what S3 would: requests
 * signed with `credentials` (default: the local AWS_* keys), and POST uploads whose signed policy the form meets.
 */
export async function startLocalS3(options: { dataDir: string; port: number; buckets: string[]; credentials?: Credentials }): Promise<LocalS3> {
  const directory = join(options.dataDir, 's3');
  mkdirSync(directory, { recursive: true });
  const credentials = options.credentials ?? localCredentials();
  // The front is the authority on signatures; s3rver only needs to know the keys, to treat requests as an account's
  // (it refuses response-* header overrides, used by export downloads, to anonymous requests).
  for (const [accessKeyId, secretAccessKey] of credentials) AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const server = new S3rver({
    address: '127.0.0.1',
    port: await freePort(),
    directory,
    silent: true,
    allowMismatchedSignatures: true,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [CORS] })),
  });
  const address = (await server.run()) as AddressInfo;
  const front = await startS3Front({
    host: '127.0.0.1',
    port: options.port,
    upstream: { host: '127.0.0.1', port: address.port },
    credentials,
    multipart: multipartAdmin(server),
  });
  return {
    endpoint: `http://localhost:${front.port}`,
    server,
    async close() {
      await front.close();
      await server.close();
    },
  };
}

/** The keys the local SDK clients sign with (infra/local/stack.ts sets them). */
export function localCredentials(env = process.env): Credentials {
  return new Map([[env.AWS_ACCESS_KEY_ID ?? 'S3RVER', env.AWS_SECRET_ACCESS_KEY ?? 'S3RVER']]);
}
