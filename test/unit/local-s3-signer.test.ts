import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presignedPostPlan } from '../../core/import/upload-policy';
import { LOCAL_BUCKETS, repositoryIam } from './repository-iam';
import { asFunction, installLocalIam, presignedRefusal, recordedDecisions, rememberPresignedPostSigner, withLocalIam } from '../../infra/local/iam/wiring';
import { startLocalS3, type LocalS3 } from '../../infra/local/local-s3';

/** The local S3 with local IAM: a presigned link or POST is authorised as the function that signed it, when used. */
const BUCKETS = LOCAL_BUCKETS;
const iam = repositoryIam();
const KEYS = { accessKeyId: 'LOCALKEY', secretAccessKey: 'local-secret' };
const EXPORT = 'exports/alice/e-1/report.csv';

let dataDir: string;
let s3: LocalS3;
let client: S3Client;

const errorOf = async (response: Response) => {
  const body = await response.text();
  return { code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1], message: /<Message>([^<]+)<\/Message>/.exec(body)?.[1] };
};

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'ferry-s3-signer-'));
  s3 = await startLocalS3({ dataDir, port: 0, buckets: Object.values(BUCKETS), credentials: new Map([[KEYS.accessKeyId, KEYS.secretAccessKey]]), authorizePresigned: presignedRefusal });
  installLocalIam(iam, 'enforce');
  client = withLocalIam(new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: KEYS }));
  // Outside any function's role: the test's own setup is not authorised.
  await client.send(new PutObjectCommand({ Bucket: 'ferry-exports', Key: EXPORT, Body: 'id\n1\n' }));
});

afterAll(async () => {
  installLocalIam(iam, 'off');
  client.destroy();
  await s3.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('presigned requests are authorised as their signer', () => {
  it("a link the status function signs opens the export: its role may read exports/* (and decrypt with the exports' key)", async () => {
    const url = await asFunction('getDownloadRequest', () => getSignedUrl(client, new GetObjectCommand({ Bucket: 'ferry-exports', Key: EXPORT }), { expiresIn: 60 }));
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('id\n1\n');
    expect(recordedDecisions()).toContainEqual(
      expect.objectContaining({ role: 'GetDownloadRequestRole', service: 'presigned', action: 's3:GetObject', resource: `arn:aws:s3:::ferry-exports/${EXPORT}`, decision: 'Allow' }),
    );
  });

  it('a link signed by a function whose role may not read the object is 403 AccessDenied naming the signer, as S3 answers', async () => {
    const url = await asFunction('search', () => getSignedUrl(client, new GetObjectCommand({ Bucket: 'ferry-exports', Key: EXPORT }), { expiresIn: 60 }));
    const response = await fetch(url);
    expect(response.status).toBe(403);
    const { code, message } = await errorOf(response);
    expect(code).toBe('AccessDenied');
    expect(message).toContain('assumed-role/SearchRole/ferry-local-search is not authorized to perform: s3:GetObject on resource: &#34;arn:aws:s3:::ferry-exports/exports/alice/e-1/report.csv&#34;');
  });

  it('a presigned POST is authorised as the function that signed it: the import API may upload under uploads/, the search may not', async () => {
    const key = 'uploads/alice/i-1/data.csv';
    const content = 'id,text\n1,hello\n';
    const signAs = (functionKey: string) =>
      asFunction(functionKey, async () => {
        const post = await createPresignedPost(client, { ...presignedPostPlan({ bucket: 'ferry-uploads', key, file: { size: content.length, contentType: 'text/csv' } }), Expires: 60 });
        rememberPresignedPostSigner(post.fields['X-Amz-Signature'], Date.now() + 60_000);
        return post;
      });
    const upload = async (fields: Record<string, string>) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      form.append('file', new Blob([content], { type: 'text/csv' }), 'data.csv');
      return fetch(`${s3.endpoint}/ferry-uploads`, { method: 'POST', body: form });
    };

    const refused = await upload((await signAs('search')).fields);
    expect(refused.status).toBe(403);
    expect((await errorOf(refused)).message).toContain('assumed-role/SearchRole/ferry-local-search is not authorized to perform: s3:PutObject');
    await expect(client.send(new HeadObjectCommand({ Bucket: 'ferry-uploads', Key: key }))).rejects.toMatchObject({ name: 'NotFound' });

    const accepted = await upload((await signAs('createImport')).fields);
    expect(accepted.status).toBe(204);
    expect((await client.send(new HeadObjectCommand({ Bucket: 'ferry-uploads', Key: key }))).ContentLength).toBe(content.length);
  });
});
