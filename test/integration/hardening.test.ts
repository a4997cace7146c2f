/**
 * One bad request never takes the local stack down, and its side doors are closed: each case below once
 * ended the process, answered 500 or an empty body, reset the connection, or let an unsigned caller in.
 * This file boots its own stack so it can watch that process.
 */
import { connect, type Socket } from 'node:net';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { api, pollUntil, signIn, stack, useStack } from './client';
import { clamdMissing, titled } from '../requirements';
import { startStackProcess, type StackProcess } from './stack-process';

let own: StackProcess;
let alice: string;
const MAX_IN_FLIGHT = 24;

beforeAll(async () => {
  // Multipart uploads start above 5 GiB, past the default one-task import limit (1 GiB): allow them here.
  // GATEWAY_MAX_IN_FLIGHT: the overload test holds that many requests open to see the next one refused.
  own = await startStackProcess('hardening', { SEED_ROWS: '200', MAX_IMPORT_BYTES: String(8 * 1024 ** 3), GATEWAY_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT) });
  useStack(own.info);
  alice = await signIn('alice');
});
afterAll(async () => {
  await own?.stop();
});

async function expectHealthy() {
  expect(own.alive()).toBe(true);
  const res = await fetch(`${stack().url}/api/health`);
  expect(res.status).toBe(200);
}

/** Sends raw bytes on one connection and collects every HTTP response that comes back on it. */
function rawExchange(requests: Buffer[], responses: number): Promise<string> {
  const { port } = new URL(stack().url);
  return new Promise((resolvePromise, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only got: ${received.slice(0, 500)}`));
    }, 30_000);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if ((received.match(/^HTTP\/1\.1 /gm) ?? []).length >= responses && /\r\n\r\n[\s\S]*\}\s*$/.test(received)) {
        clearTimeout(timer);
        socket.end();
        resolvePromise(received);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolvePromise(received);
    });
    for (const request of requests) socket.write(request);
  });
}

describe('nothing takes the process down', () => {
  it('completing a multipart import with a part that was never uploaded answers 400 naming the parts, and the stack lives on', async () => {
    const created = await api<{ importId: string; upload: { method: string; uploadId: string } }>(alice, 'POST', '/imports', {
      fileName: 'big.csv',
      size: 6 * 1024 ** 3,
      contentType: 'text/csv',
      delivery: 'direct',
    });
    expect(created.status).toBe(201);
    expect(created.body.upload.method).toBe('multipart');
    const completed = await api<{ field?: string }>(alice, 'POST', `/imports/${created.body.importId}/complete`, {
      parts: [{ partNumber: 1, etag: '"0123456789abcdef0123456789abcdef"' }],
    });
    expect(completed.status).toBe(400);
    expect(completed.body.field).toBe('parts');
    const parts = await api(alice, 'POST', `/imports/${created.body.importId}/parts`);
    expect(parts.status).toBeLessThan(500);
    await expectHealthy();
  });

  it('a malformed %-escape in a path is a 400 naming the path', async () => {
    for (const path of ['/api/imports/%E0%A4%A', '/api/download-request/%zz', '/%']) {
      const res = await fetch(`${stack().url}${path}`, { headers: { authorization: `Bearer ${alice}` } });
      expect(res.status, path).toBe(400);
      expect(await res.json()).toMatchObject({ field: 'path' });
    }
    await expectHealthy();
  });

  it('an id longer than any DynamoDB key is simply not found on every route that takes one (fuzz seed 870038363)', async () => {
    const id = 'x'.repeat(3000);
    const routes: [string, string][] = [
      ['GET', `/api/imports/${id}`],
      ['POST', `/api/imports/${id}/parts`],
      ['POST', `/api/imports/${id}/complete`],
    ];
    for (const [method, path] of routes) {
      const res = await fetch(`${stack().url}${path}`, {
        method,
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      expect(res.status, `${method} ${path.replace(id, 'x…')}`).toBe(404);
    }
    await expectHealthy();
  });

  it('broken JSON on the token route is a 400 naming the body', async () => {
    const res = await fetch(`${stack().url}/api/local/token`, { method: 'POST', body: '{"username": "alice", ' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: 'body' });
  });

  it('an over-long query string is a 431 with a JSON body', async () => {
    const res = await fetch(`${stack().url}/api/search?q=${'a'.repeat(40_000)}`, { headers: { authorization: `Bearer ${alice}` } });
    expect(res.status).toBe(431);
    expect(((await res.json()) as { message: string }).message).toMatch(/too long/);
    await expectHealthy();
  });

  it('a body over the limit is a 413 on a keep-alive connection that answers the next request', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'x');
    const host = new URL(stack().url).host;
    const oversized = Buffer.concat([
      Buffer.from(`POST /api/local/token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\nConnection: keep-alive\r\n\r\n`),
      big,
    ]);
    const health = Buffer.from(`GET /api/health HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
    const received = await rawExchange([oversized, health], 2);
    const statuses = [...received.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
    expect(statuses).toEqual([413, 200]);
    expect(received).toMatch(/"field":"body"/);
    expect(received).toMatch(/"status":"ok"/);
  });

  it('a request line Node cannot parse gets a 400 with a JSON body', async () => {
    const received = await rawExchange([Buffer.from('GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n')], 1);
    expect(received).toMatch(/^HTTP\/1\.1 400 /);
    expect(received).toMatch(/"message":"The request could not be parsed/);
    await expectHealthy();
  });
});

describe('the local stack lets no one in', () => {
  const wrongKeys = { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-local-secret' };
  const otherKey = { accessKeyId: 'AKIAOTHER', secretAccessKey: 'S3RVER' };

  it('the Step Functions endpoint refuses unsigned and wrongly signed requests with 403 in its own error shape', async () => {
    const unsigned = await fetch(stack().sfnEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AWSStepFunctions.ListExecutions' },
      body: JSON.stringify({ stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-export-local' }),
    });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toMatchObject({ __type: 'UnrecognizedClientException' });
    for (const [credentials, name] of [
      [wrongKeys, 'InvalidSignatureException'],
      [otherKey, 'UnrecognizedClientException'],
    ] as const) {
      const client = new SFNClient({ region: 'us-east-1', endpoint: stack().sfnEndpoint, credentials, maxAttempts: 1 });
      const error = await client
        .send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:ferry-export-local:x' }))
        .catch((e: unknown) => e as { name: string; $metadata: { httpStatusCode?: number } });
      expect(error).toMatchObject({ name, $metadata: { httpStatusCode: 403 } });
    }
    const signed = new SFNClient({ region: 'us-east-1', endpoint: stack().sfnEndpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const missing = await signed
      .send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:ferry-export-local:x' }))
      .catch((e: unknown) => e as { name: string });
    expect(missing).toMatchObject({ name: 'ExecutionDoesNotExist' });
  });

  it('the management API is not on the public port, is on loopback, and refuses unsigned and wrongly signed callers', async () => {
    const onPublic = await fetch(`${stack().url}/_ws/@connections/abc`, { method: 'POST', body: 'hi' });
    expect(onPublic.status).toBe(405);
    expect(onPublic.headers.get('x-amzn-errortype')).toBeNull();
    const management = new URL(stack().managementEndpoint);
    expect(management.hostname).toBe('127.0.0.1');
    expect(management.port).not.toBe(new URL(stack().url).port);
    const unsigned = await fetch(`${stack().managementEndpoint}/@connections/abc`, { method: 'POST', body: 'hi' });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
    const wrong = new ApiGatewayManagementApiClient({ region: 'us-east-1', endpoint: stack().managementEndpoint, credentials: wrongKeys, maxAttempts: 1 });
    const refused = await wrong
      .send(new PostToConnectionCommand({ ConnectionId: 'abc', Data: new TextEncoder().encode('hi') }))
      .catch((e: unknown) => e as { $metadata: { httpStatusCode?: number } });
    expect(refused).toMatchObject({ $metadata: { httpStatusCode: 403 } });
    const signed = new ApiGatewayManagementApiClient({
      region: 'us-east-1',
      endpoint: stack().managementEndpoint,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    const gone = await signed
      .send(new PostToConnectionCommand({ ConnectionId: 'abc', Data: new TextEncoder().encode('hi') }))
      .catch((e: unknown) => e as { name: string });
    expect(gone).toMatchObject({ name: 'GoneException' });
  });
});

describe.skipIf(clamdMissing())(titled('nothing half-done is left behind', clamdMissing()), () => {
  const s3 = () =>
    new S3Client({ region: 'us-east-1', endpoint: stack().s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

  /** What an operator's listing shows under a key: objects, and incomplete multipart uploads. */
  async function leftUnder(bucket: string, prefix: string) {
    const client = s3();
    try {
      const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
      return { objects: (objects.Contents ?? []).map((o) => o.Key), multipartUploads: (uploads.Uploads ?? []).map((u) => u.Key) };
    } finally {
      client.destroy();
    }
  }

  const finishedImport = (importId: string) =>
    pollUntil(
      async () => (await api<{ status: string; reason?: string; checks: Record<string, string> }>(alice, 'GET', `/imports/${importId}`)).body,
      (body) => body.status !== 'RUNNING' && body.status !== 'AWAITING_UPLOAD',
      120_000,
    );

  it('a multipart upload that failed its checks (parts short of the declared size) leaves no object and no open upload', async () => {
    const created = await api<{ importId: string; upload: { uploadId: string; parts: Array<{ partNumber: number; url: string }> } }>(alice, 'POST', '/imports', {
      fileName: 'short.csv',
      size: 6 * 1024 ** 3,
      contentType: 'text/csv',
      type: 'direct',
    });
    expect(created.status).toBe(201);
    // The first part at S3's 5 MiB minimum (a smaller one is EntityTooSmall on completing), the last one short.
    const row = 'u1,2024-01-01T00:00:00Z,short upload,x\n';
    const header = 'userId,dateCreated,content,tags\n';
    const first = header + row.repeat(Math.ceil((5 * 1024 ** 2 - header.length) / row.length));
    const bodies = [first, row];
    const parts = await Promise.all(
      bodies.map(async (content, i) => {
        const part = created.body.upload.parts[i];
        const res = await fetch(part?.url ?? '', { method: 'PUT', body: content });
        expect(res.status).toBe(200);
        return { partNumber: part?.partNumber ?? 0, etag: res.headers.get('etag') ?? '' };
      }),
    );
    const bucket = new URL(created.body.upload.parts[0]?.url ?? '').pathname.split('/')[1] ?? '';
    const key = decodeURIComponent(new URL(created.body.upload.parts[0]?.url ?? '').pathname.split('/').slice(2).join('/'));
    expect((await leftUnder(bucket, key)).multipartUploads).toEqual([key]);

    expect((await api(alice, 'POST', `/imports/${created.body.importId}/complete`, { parts })).status).toBe(202);
    expect(await finishedImport(created.body.importId)).toMatchObject({ status: 'REJECTED', checks: { checksum: 'mismatch' } });
    expect(await leftUnder(bucket, key)).toEqual({ objects: [], multipartUploads: [] });
  });

  it('a rejected file leaves nothing in the uploads bucket', async () => {
    const pdf = '%PDF-1.7\n1 0 obj\n<<>>\nendobj\n';
    const created = await api<{ importId: string; upload: { url: string; fields: Record<string, string> } }>(alice, 'POST', '/imports', {
      fileName: 'not.csv',
      size: Buffer.byteLength(pdf),
      contentType: 'text/csv',
      type: 'direct',
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(created.body.upload.fields)) form.append(name, value);
    form.append('file', new Blob([pdf], { type: 'text/csv' }), 'not.csv');
    expect((await fetch(created.body.upload.url, { method: 'POST', body: form })).status).toBeLessThan(300);

    expect(await finishedImport(created.body.importId)).toMatchObject({ status: 'REJECTED', checks: { format: 'unknown' } });
    const bucket = new URL(created.body.upload.url).pathname.split('/')[1] ?? '';
    expect(await leftUnder(bucket, created.body.upload.fields.key ?? '')).toEqual({ objects: [], multipartUploads: [] });
  });
});

describe('overload is answered, not queued without bound', () => {
  it('past its concurrency cap the gateway answers 503 with Retry-After and a JSON body, and is healthy once the load is gone', async () => {
    const { port } = new URL(stack().url);
    // Requests whose body never arrives stay in flight (the token route waits for its JSON body).
    const held = await Promise.all(
      Array.from(
        { length: MAX_IN_FLIGHT },
        () =>
          new Promise<Socket>((resolvePromise, reject) => {
            const socket = connect(Number(port), '127.0.0.1', () => {
              socket.write('POST /api/local/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
              resolvePromise(socket);
            });
            socket.once('error', reject);
          }),
      ),
    );
    try {
      const refused = await pollUntilAnswer(() => fetch(`${stack().url}/api/health`), (res) => res.status === 503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await refused.json()).toEqual({ message: expect.stringMatching(/busy/) });
      expect(own.alive()).toBe(true);
    } finally {
      for (const socket of held) socket.destroy();
    }
    const healthy = await pollUntilAnswer(() => fetch(`${stack().url}/api/health`), (res) => res.status === 200);
    expect(healthy.status).toBe(200);
    const search = await api(alice, 'GET', '/search?q=ferry');
    expect(search.status).toBe(200);
    await expectHealthy();
  });
});

/** The held sockets reach the server in their own time: ask until the answer is the one expected (bounded). */
async function pollUntilAnswer(ask: () => Promise<Response>, done: (res: Response) => boolean): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await ask();
    if (done(res) || attempt >= 100) return res;
    await res.arrayBuffer();
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 100));
  }
}
