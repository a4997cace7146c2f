import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_BUCKETS, repositoryIam } from './repository-iam';
import { asFunction, installLocalIam, presignedRefusal, recordedDecisions, withLocalIam } from '../../infra/local/iam/wiring';
import type { S3Notification } from '../../infra/local/local-eventbridge';
import { startLocalS3Process } from '../../infra/local/local-s3-process';

/** The local S3 in a process of its own, as the stack runs it: the same doors, its events and presigned verdicts over IPC. */
const BUCKETS = LOCAL_BUCKETS;
const iam = repositoryIam();
const KEYS = { accessKeyId: 'LOCALKEY', secretAccessKey: 'local-secret' };
const EXPORT = 'exports/alice/e-1/report.csv';

let dataDir: string;
let s3: Awaited<ReturnType<typeof startLocalS3Process>>;
let client: S3Client;
const notifications: S3Notification[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'ferry-s3-process-'));
  s3 = await startLocalS3Process({ dataDir, port: 0, buckets: Object.values(BUCKETS), credentials: new Map([[KEYS.accessKeyId, KEYS.secretAccessKey]]), authorizePresigned: presignedRefusal });
  s3.onEvent((notification) => notifications.push(notification));
  installLocalIam(iam, 'enforce');
  client = withLocalIam(new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: KEYS }));
  await client.send(new PutObjectCommand({ Bucket: 'ferry-exports', Key: EXPORT, Body: 'id\n1\n' }));
}, 60_000);

afterAll(async () => {
  installLocalIam(iam, 'off');
  client.destroy();
  await s3.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('the local S3 in its own process', () => {
  it('answers requests signed with the local keys, refuses unsigned ones, and tells the stack of each created object', async () => {
    const got = await client.send(new GetObjectCommand({ Bucket: 'ferry-exports', Key: EXPORT }));
    expect(await got.Body?.transformToString()).toBe('id\n1\n');
    expect((await fetch(`${s3.endpoint}/ferry-exports/${EXPORT}`)).status).toBe(403);
    await client.send(new PutObjectCommand({ Bucket: 'ferry-uploads', Key: 'uploads/alice/i-1/f', Body: 'a,b\n' }));
    await until(() => notifications.some((n) => n.Records?.some((record) => record.s3?.object?.key === 'uploads/alice/i-1/f')));
    expect(notifications.flatMap((n) => n.Records ?? []).find((record) => record.s3?.object?.key === 'uploads/alice/i-1/f')).toMatchObject({
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: 'ferry-uploads' } },
    });
  });

  it('authorises a presigned link in the stack, as the role that signed it: allowed opens the object, refused is 403 AccessDenied', async () => {
    const allowed = await asFunction('getDownloadRequest', () => getSignedUrl(client, new GetObjectCommand({ Bucket: 'ferry-exports', Key: EXPORT }), { expiresIn: 60 }));
    const opened = await fetch(allowed);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toBe('id\n1\n');
    const refused = await asFunction('search', () => getSignedUrl(client, new GetObjectCommand({ Bucket: 'ferry-exports', Key: EXPORT }), { expiresIn: 60 }));
    const denied = await fetch(refused);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toMatch(/<Code>AccessDenied<\/Code>.*assumed-role\/SearchRole\//s);
    expect(recordedDecisions()).toContainEqual(expect.objectContaining({ role: 'SearchRole', service: 'presigned', action: 's3:GetObject', decision: 'ImplicitDeny' }));
  });

  it('says why it cannot answer once its process has died, and closes all the same', async () => {
    expect(s3.failure()).toBeUndefined();
    process.kill(s3.pid, 'SIGKILL');
    await until(() => s3.failure() !== undefined);
    expect(s3.failure()).toBe('the local S3 process exited with SIGKILL');
    await s3.close();
  });
});
