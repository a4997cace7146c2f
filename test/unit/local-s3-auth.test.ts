import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3 } from '../../infra/local/local-s3';
import { presignedPostPlan } from '../../core/import/upload-policy';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { InvalidInput, UploadChanged } from '../../core/errors';
import { abortStaleMultipartUploads } from '../../infra/local/sweeper';

// The local S3 as an attacker and a browser meet it: its public port is the verifying front, s3rver sits behind it.
const BUCKETS = ['ferry-exports', 'ferry-uploads'];
const KEYS = { accessKeyId: 'LOCALKEY', secretAccessKey: 'local-secret' };
const OTHER_USERS_EXPORT = 'exports/user-b/exec-1/report.csv';

let dataDir: string;
let s3: LocalS3;
let client: S3Client;

const clientWith = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials });

const errorCode = async (response: Response) => /<Code>([^<]+)<\/Code>/.exec(await response.text())?.[1];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'ferry-s3-auth-'));
  s3 = await startLocalS3({ dataDir, port: 0, buckets: BUCKETS, credentials: new Map([[KEYS.accessKeyId, KEYS.secretAccessKey]]) });
  client = clientWith(KEYS);
  await client.send(new PutObjectCommand({ Bucket: 'ferry-exports', Key: OTHER_USERS_EXPORT, Body: 'id,email\n1,b@example.com\n' }));
});

afterAll(async () => {
  client.destroy();
  await s3.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the local S3 lets only signed requests in', () => {
  it('serves SDK requests signed with the local credentials', async () => {
    const got = await client.send(new GetObjectCommand({ Bucket: 'ferry-exports', Key: OTHER_USERS_EXPORT }));
    expect(await got.Body?.transformToString()).toBe('id,email\n1,b@example.com\n');
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'ferry-exports' }));
    expect(listed.Contents?.map((object) => object.Key)).toEqual([OTHER_USERS_EXPORT]);
  });

  it("an unsigned GET of another user's export is 403 AccessDenied, and so is an unsigned listing", async () => {
    const get = await fetch(`${s3.endpoint}/ferry-exports/${OTHER_USERS_EXPORT}`);
    expect(get.status).toBe(403);
    expect(await errorCode(get)).toBe('AccessDenied');
    const list = await fetch(`${s3.endpoint}/ferry-exports?list-type=2`);
    expect(list.status).toBe(403);
    expect(await errorCode(list)).toBe('AccessDenied');
  });

  it('a request signed with a wrong secret is 403 SignatureDoesNotMatch, an unknown key 403 InvalidAccessKeyId', async () => {
    const wrongSecret = clientWith({ ...KEYS, secretAccessKey: 'guessed' });
    await expect(wrongSecret.send(new HeadObjectCommand({ Bucket: 'ferry-exports', Key: OTHER_USERS_EXPORT }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    await expect(wrongSecret.send(new GetObjectCommand({ Bucket: 'ferry-exports', Key: OTHER_USERS_EXPORT }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    const unknown = clientWith({ accessKeyId: 'NOBODY', secretAccessKey: KEYS.secretAccessKey });
    await expect(unknown.send(new GetObjectCommand({ Bucket: 'ferry-exports', Key: OTHER_USERS_EXPORT }))).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
    });
    wrongSecret.destroy();
    unknown.destroy();
  });

  it('a presigned GET works until it expires, for its own key only', async () => {
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'ferry-exports', Key: OTHER_USERS_EXPORT }), { expiresIn: 60 });
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('b@example.com');

    const otherKey = await fetch(url.replace('report.csv', 'other.csv'));
    expect(otherKey.status).toBe(403);
    expect(await errorCode(otherKey)).toBe('SignatureDoesNotMatch');

    const longer = await fetch(url.replace('X-Amz-Expires=60', 'X-Amz-Expires=600'));
    expect(await errorCode(longer)).toBe('SignatureDoesNotMatch');

    const expired = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'ferry-exports', Key: OTHER_USERS_EXPORT }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 120_000),
    });
    const late = await fetch(expired);
    expect(late.status).toBe(403);
    const body = await late.text();
    expect(body).toContain('<Code>AccessDenied</Code>');
    expect(body).toContain('Request has expired');
  });

  it('a presigned PUT uploads, and its URL cannot write another key', async () => {
    const key = 'uploads/u1/i1/put';
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'ferry-uploads', Key: key }), { expiresIn: 60 });
    expect((await fetch(url, { method: 'PUT', body: 'a,b\n' })).status).toBe(200);
    const got = await client.send(new GetObjectCommand({ Bucket: 'ferry-uploads', Key: key }));
    expect(await got.Body?.transformToString()).toBe('a,b\n');
    expect((await fetch(url.replace('/put?', '/put2?'), { method: 'PUT', body: 'x' })).status).toBe(403);
  });

  it('answers CORS preflights unsigned, as S3 does', async () => {
    const preflight = await fetch(`${s3.endpoint}/ferry-uploads`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe("a presigned POST is held to Ferry's upload policy", () => {
  const key = 'uploads/u1/i2/post';
  const content = 'id,text\n1,hello\n';
  const policyFor = async (size = content.length, expires = 60) =>
    createPresignedPost(client, {
      ...presignedPostPlan({ bucket: 'ferry-uploads', key, file: { size, contentType: 'text/csv' } }),
      Expires: expires,
    });
  const post = async (fields: Record<string, string>, file: string | Blob = content, extra: Record<string, string> = {}) => {
    const form = new FormData();
    for (const [name, value] of Object.entries({ ...fields, ...extra })) form.append(name, value);
    form.append('file', typeof file === 'string' ? new Blob([file], { type: 'text/csv' }) : file, 'data.csv');
    const response = await fetch(`${s3.endpoint}/ferry-uploads`, { method: 'POST', body: form, headers: { origin: 'http://localhost:3000' } });
    return { status: response.status, body: await response.text(), cors: response.headers.get('access-control-allow-origin') };
  };
  const stored = async () =>
    client.send(new HeadObjectCommand({ Bucket: 'ferry-uploads', Key: key })).then(
      () => true,
      () => false,
    );

  it('a form that meets the policy uploads the file', async () => {
    const { fields } = await policyFor();
    const answer = await post(fields);
    expect(answer.status).toBe(204);
    const got = await client.send(new GetObjectCommand({ Bucket: 'ferry-uploads', Key: key }));
    expect(await got.Body?.transformToString()).toBe(content);
    expect(got.ContentType).toBe('text/csv');
    await client.send(new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({ Bucket: 'ferry-uploads', Key: key }));
  });

  it.each([
    ['another key', { key: 'uploads/u1/i2/elsewhere' }, 'Policy Condition failed: ["eq","$key","uploads/u1/i2/post"]'],
    ['another content type', { 'Content-Type': 'application/zip' }, 'Policy Condition failed: ["eq","$Content-Type","text/csv"]'],
    ['a field no condition covers', { 'x-amz-meta-owner': 'mallory' }, 'Extra input fields: x-amz-meta-owner'],
  ])('a form with %s is 403 AccessDenied with the reason, and nothing is stored', async (_what, change, reason) => {
    const { fields } = await policyFor();
    const answer = await post({ ...fields, ...change });
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('<Code>AccessDenied</Code>');
    expect(answer.body).toContain(`Invalid according to Policy: ${reason.replace(/"/g, '&#34;')}`);
    expect(answer.cors).toBe('*');
    expect(await stored()).toBe(false);
  });

  it('a file over the content-length-range is 400 EntityTooLarge, under it 400 EntityTooSmall; nothing is stored', async () => {
    const { fields } = await policyFor();
    const big = await post(fields, content + 'x'.repeat(256 * 1024));
    expect(big.status).toBe(400);
    expect(big.body).toContain('<Code>EntityTooLarge</Code>');
    const small = await post(fields, content.slice(0, 5));
    expect(small.status).toBe(400);
    expect(small.body).toContain('<Code>EntityTooSmall</Code>');
    expect(await stored()).toBe(false);
  });

  it('an expired policy, a tampered policy, a wrong signature or no signature is 403', async () => {
    const expired = await createPresignedPost(clientWith(KEYS), {
      ...presignedPostPlan({ bucket: 'ferry-uploads', key, file: { size: content.length, contentType: 'text/csv' } }),
      Expires: -10,
    });
    const late = await post(expired.fields);
    expect(late.status).toBe(403);
    expect(late.body).toContain('Invalid according to Policy: Policy expired.');

    const { fields } = await policyFor();
    const document = JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString()) as { conditions: unknown[] };
    const loosened = { ...document, conditions: document.conditions.filter((c) => !Array.isArray(c) || c[0] !== 'content-length-range') };
    const tampered = await post({ ...fields, Policy: Buffer.from(JSON.stringify(loosened)).toString('base64') });
    expect(tampered.status).toBe(403);
    expect(tampered.body).toContain('<Code>SignatureDoesNotMatch</Code>');

    const guessed = await createPresignedPost(clientWith({ ...KEYS, secretAccessKey: 'guessed' }), {
      ...presignedPostPlan({ bucket: 'ferry-uploads', key, file: { size: content.length, contentType: 'text/csv' } }),
      Expires: 60,
    });
    expect((await post(guessed.fields)).body).toContain('<Code>SignatureDoesNotMatch</Code>');

    const unsigned = await post({ key, 'Content-Type': 'text/csv' });
    expect(unsigned.status).toBe(403);
    expect(unsigned.body).toContain('<Code>AccessDenied</Code>');
    expect(await stored()).toBe(false);
  });
});

describe('the local S3 answers If-Match as S3 does (s3rver alone ignores it)', () => {
  const KEY = 'uploads/user-a/imp-1/r';
  const store = () => new S3ObjectStore(client);

  it('GET and HEAD with the object\'s ETag read it; with another ETag they are 412 PreconditionFailed', async () => {
    const put = await client.send(new PutObjectCommand({ Bucket: 'ferry-uploads', Key: KEY, Body: 'first bytes' }));
    const etag = put.ETag ?? '';
    const got = await client.send(new GetObjectCommand({ Bucket: 'ferry-uploads', Key: KEY, IfMatch: etag }));
    expect(await got.Body?.transformToString()).toBe('first bytes');
    await expect(client.send(new GetObjectCommand({ Bucket: 'ferry-uploads', Key: KEY, IfMatch: '"0123"' }))).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    await expect(client.send(new HeadObjectCommand({ Bucket: 'ferry-uploads', Key: KEY, IfMatch: '"0123"' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
  });

  it('the object store pins reads and copies to an ETag: an object swapped in since is UploadChanged, and not copied', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'ferry-uploads', Key: KEY, Body: 'scanned bytes' }));
    const pinned = await store().head('ferry-uploads', KEY);
    expect(pinned?.etag).toMatch(/^[0-9a-f]{32}$/);
    const condition = { ifMatch: pinned?.etag ?? '' };
    expect(await (await store().getStream('ferry-uploads', KEY, condition)).toArray()).toEqual([Buffer.from('scanned bytes')]);

    await client.send(new PutObjectCommand({ Bucket: 'ferry-uploads', Key: KEY, Body: 'swapped bytes' }));
    await expect(store().getStream('ferry-uploads', KEY, condition)).rejects.toBeInstanceOf(UploadChanged);
    await expect(store().head('ferry-uploads', KEY, condition)).rejects.toBeInstanceOf(UploadChanged);
    await expect(
      client.send(
        new CopyObjectCommand({ Bucket: 'ferry-exports', Key: 'copied', CopySource: `ferry-uploads/${KEY}`, CopySourceIfMatch: `"${condition.ifMatch}"` }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    await expect(store().copy({ bucket: 'ferry-uploads', key: KEY }, { bucket: 'ferry-exports', key: 'copied' }, condition)).rejects.toBeInstanceOf(
      UploadChanged,
    );
    expect(await store().head('ferry-exports', 'copied')).toBeUndefined();

    const current = await store().head('ferry-uploads', KEY);
    await store().copy({ bucket: 'ferry-uploads', key: KEY }, { bucket: 'ferry-exports', key: 'copied' }, { ifMatch: current?.etag ?? '' });
    expect(await (await store().getStream('ferry-exports', 'copied')).toArray()).toEqual([Buffer.from('swapped bytes')]);
  });
});

describe('the local S3 lists and aborts incomplete multipart uploads as S3 does (s3rver alone cannot)', () => {
  const openUploads = async (prefix: string) =>
    ((await client.send(new ListMultipartUploadsCommand({ Bucket: 'ferry-uploads', Prefix: prefix }))).Uploads ?? []).map((upload) => [
      upload.Key,
      upload.UploadId,
    ]);

  it('an upload with a part is listed until aborted, then gone with its parts; aborting it again is NoSuchUpload', async () => {
    const key = 'uploads/user-a/imp-multipart/r';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'ferry-uploads', Key: key }));
    await client.send(new UploadPartCommand({ Bucket: 'ferry-uploads', Key: key, UploadId, PartNumber: 1, Body: 'part one' }));
    expect(await openUploads('uploads/user-a/imp-multipart/')).toEqual([[key, UploadId]]);
    expect(await openUploads('uploads/someone-else/')).toEqual([]);

    await new S3ObjectStore(client).abortMultipartUpload('ferry-uploads', key, UploadId ?? '');
    expect(await openUploads('uploads/user-a/imp-multipart/')).toEqual([]);
    await expect(client.send(new AbortMultipartUploadCommand({ Bucket: 'ferry-uploads', Key: key, UploadId }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('the sweeper (the lifecycle rule\'s stand-in) aborts uploads initiated before its cut-off and keeps newer ones', async () => {
    const key = 'uploads/user-a/imp-abandoned/r';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'ferry-uploads', Key: key }));
    await client.send(new UploadPartCommand({ Bucket: 'ferry-uploads', Key: key, UploadId, PartNumber: 1, Body: 'abandoned part' }));

    expect(await abortStaleMultipartUploads(client, 'ferry-uploads', new Date(Date.now() - 3600_000))).toBe(0);
    expect(await openUploads('uploads/user-a/imp-abandoned/')).toEqual([[key, UploadId]]);
    expect(await abortStaleMultipartUploads(client, 'ferry-uploads', new Date(Date.now() + 1000))).toBe(1);
    expect(await openUploads('uploads/user-a/imp-abandoned/')).toEqual([]);
  });

  it('completing refuses a part under 5 MiB that is not the last (EntityTooSmall, as S3 does), and the upload stays open; the last part may be small', async () => {
    const MiB = 1024 * 1024;
    const key = 'uploads/user-a/imp-small-parts/r';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'ferry-uploads', Key: key }));
    const put = async (PartNumber: number, Body: Buffer) =>
      ({ PartNumber, ETag: (await client.send(new UploadPartCommand({ Bucket: 'ferry-uploads', Key: key, UploadId, PartNumber, Body }))).ETag });
    const small = await put(1, Buffer.alloc(5 * MiB - 1, 'a'));
    const last = await put(2, Buffer.from('the end'));
    const complete = (Parts: Array<{ PartNumber: number; ETag?: string }>) =>
      client.send(new CompleteMultipartUploadCommand({ Bucket: 'ferry-uploads', Key: key, UploadId, MultipartUpload: { Parts } }));

    await expect(complete([small, last])).rejects.toMatchObject({ name: 'EntityTooSmall', $metadata: { httpStatusCode: 400 } });
    // Through the adapter: the caller's parts are wrong, named as such.
    const refused = await new S3ObjectStore(client)
      .completeMultipartUpload('ferry-uploads', key, UploadId ?? '', [small, last].map((part) => ({ partNumber: part.PartNumber, etag: part.ETag ?? '' })))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidInput);
    expect(refused).toMatchObject({ field: 'parts' });
    expect(await openUploads('uploads/user-a/imp-small-parts/')).toEqual([[key, UploadId]]);

    const whole = await put(1, Buffer.alloc(5 * MiB, 'a'));
    await complete([whole, last]);
    const object = await client.send(new HeadObjectCommand({ Bucket: 'ferry-uploads', Key: key }));
    expect(object.ContentLength).toBe(5 * MiB + 'the end'.length);
    expect(await openUploads('uploads/user-a/imp-small-parts/')).toEqual([]);
  });
});
