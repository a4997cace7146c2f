import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';
import { freePort } from './free-port';
import { startS3Front, type PresignedUse } from './s3-front/front';
import { multipartUploadsOf, refuseMissingParts } from './s3rver-multipart';
import type { S3Notification } from './local-eventbridge';
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

/** The local S3 as the stack uses it, in its own process or in the stack's (local-s3-process.ts). */
export interface LocalS3Service {
  endpoint: string;
  /** Each object-created notification s3rver emits (its 'event'), for S3 → EventBridge. */
  onEvent(listener: (notification: S3Notification) => void): void;
  /** Why the local S3 cannot answer (its process exited); undefined while it can. */
  failure(): string | undefined;
  close(): Promise<void>;
}

export interface LocalS3 extends LocalS3Service {
  server: S3rver;
}

export interface LocalS3Options {
  dataDir: string;
  port: number;
  buckets: string[];
  credentials?: Credentials;
  /**
   * Local IAM: a presigned request or POST is authorised as its signer when used (s3-front's `authorizePresigned`).
   * In its own process the local S3 asks the stack, which knows the signers.
   */
  authorizePresigned?: (use: PresignedUse) => string | undefined | Promise<string | undefined>;
}

/**
 * s3rver keeps objects under `<dataDir>/s3`, so they survive a restart. It listens on a loopback port of its
 * own; the public port is the verifying front (s3-front/), which lets through only what S3 would: requests
 * signed with `credentials` (default: the local AWS_* keys), and POST uploads whose signed policy the form meets.
 */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
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
  // A completion naming a part never uploaded would otherwise end the process (see s3rver-multipart.ts).
  refuseMissingParts(server);
  const front = await startS3Front({
    host: '127.0.0.1',
    port: options.port,
    upstream: { host: '127.0.0.1', port: address.port },
    credentials,
    ...(options.authorizePresigned ? { authorizePresigned: options.authorizePresigned } : {}),
    etagOf: storedEtag(server),
    multipart: multipartUploadsOf(server),
  });
  return {
    endpoint: `http://localhost:${front.port}`,
    server,
    onEvent: (listener) => void server.on('event', listener),
    failure: () => undefined,
    async close() {
      await front.close();
      await server.close();
    },
  };
}

/** The ETag s3rver's store keeps for an object (quoted), read in-process; undefined when there is no object. */
function storedEtag(server: S3rver): (bucket: string, key: string) => Promise<string | undefined> {
  const store = (server as unknown as { store: { getMetadata(bucket: string, key: string): Promise<{ etag?: string }> } }).store;
  return (bucket, key) => store.getMetadata(bucket, key).then((metadata) => metadata.etag, () => undefined);
}

/** The keys the local SDK clients sign with (infra/local/stack.ts sets them). */
export function localCredentials(env = process.env): Credentials {
  return new Map([[env.AWS_ACCESS_KEY_ID ?? 'S3RVER', env.AWS_SECRET_ACCESS_KEY ?? 'S3RVER']]);
}
