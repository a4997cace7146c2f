import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { accessDenied, S3Refusal, sendRefusal } from './errors';
import { boundaryOf, readPostForm, type PostForm } from './multipart-form';
import { checkPolicy } from './post-policy';
import type { MultipartAdmin } from '../s3rver-multipart';
import { isSigned, verifyHeaderSigned, verifyPolicySignature, verifyPresigned, type Credentials, type SignedRequest } from './sigv4';

/**
 * The local S3's public door: a thin verifying proxy in front of s3rver (which listens on loopback only and
 * checks no signature of its own worth trusting). Every request but a CORS preflight must carry a valid
 * SigV4 signature by a known key (header-signed or presigned), and a browser's POST upload must carry a
 * policy signed by one and met by its form, as S3 demands. Bodies stream through; none is buffered.
 */

export interface S3FrontOptions {
  host: string;
  port: number;
  upstream: { host: string; port: number };
  credentials: Credentials;
  now?: () => Date;
  /** AbortMultipartUpload and ListMultipartUploads, which s3rver lacks (s3rver-multipart.ts). */
  multipart?: MultipartAdmin;
}

export interface S3Front {
  port: number;
  close(): Promise<void>;
}

/** Errors carry the bucket's CORS answer, so a browser can read why its upload was refused. */
const corsOf = (request: IncomingMessage): Record<string, string> =>
  request.headers.origin ? { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'ETag' } : {};

export async function startS3Front(options: S3FrontOptions): Promise<S3Front> {
  const now = options.now ?? (() => new Date());
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const refusal = error instanceof S3Refusal ? error : new S3Refusal(400, 'InvalidArgument', error instanceof Error ? error.message : String(error));
      if (!(error instanceof S3Refusal)) console.error('[s3-front]', error);
      sendRefusal(response, refusal, request.url ?? '/', corsOf(request));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://s3.local');
    const signed: SignedRequest = { method: request.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: request.headers };
    // Preflights are unsigned in S3 too; the bucket's CORS rules answer them.
    if (signed.method === 'OPTIONS') return forward(request, response, request);
    const segments = url.pathname.split('/').filter(Boolean);
    if (signed.method === 'POST' && segments.length === 1 && /^multipart\/form-data/i.test(request.headers['content-type'] ?? '')) {
      return postUpload(request, response, decodeURIComponent(segments[0] ?? ''));
    }
    if (!isSigned(signed)) throw accessDenied('Access Denied');
    if (signed.headers.authorization !== undefined) await verifyHeaderSigned(signed, options.credentials, now());
    else await verifyPresigned(signed, options.credentials, now());
    // x-amz-content-sha256 is covered by the signature; a hex digest of a streamed body is not recomputed here (see README).
    if (options.multipart && (await answerMultipart(options.multipart, signed.method, url, segments, response))) return;
    return forward(request, response, request);
  }

  /** Browser upload: the fields are checked before a byte of the file is passed on; the size while it streams. */
  async function postUpload(request: IncomingMessage, response: ServerResponse, bucket: string): Promise<void> {
    const boundary = boundaryOf(request.headers['content-type']);
    const form = await readPostForm(request, boundary);
    const field = (name: string) => form.fields.get(name);
    const policy = field('policy');
    const signature = field('x-amz-signature');
    if (policy === undefined || signature === undefined) throw accessDenied('Access Denied');
    if (field('x-amz-algorithm') !== 'AWS4-HMAC-SHA256') throw accessDenied('Only AWS4-HMAC-SHA256 POST policies are accepted.');
    await verifyPolicySignature({ policy, signature, credential: field('x-amz-credential') ?? '', date: field('x-amz-date') ?? '' }, options.credentials);
    const { sizeRange } = checkPolicy(policy, new Map([...form.fields, ['bucket', bucket]]), now());
    if (field('key') === undefined) throw new S3Refusal(400, 'InvalidArgument', 'Bucket POST must contain a field named \'key\'.');
    const body = Readable.from(reencodedForm(form, boundary, sizeRange));
    await forward(request, response, body);
  }

  /** Passes a request on to s3rver and its answer back. A body that fails (too large, too small) aborts the upstream request. */
  function forward(request: IncomingMessage, response: ServerResponse, body: Readable): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers = { ...request.headers };
      if (body !== request) {
        delete headers['content-length'];
        headers['transfer-encoding'] = 'chunked';
      }
      const upstream = httpRequest(
        { host: options.upstream.host, port: options.upstream.port, method: request.method, path: request.url, headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          pipeline(answer, response).then(resolve, reject);
        },
      );
      upstream.on('error', reject);
      pipeline(body, upstream).catch((error: unknown) => {
        upstream.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** DELETE /bucket/key?uploadId= and GET /bucket?uploads, answered as S3 does; false for anything else. */
async function answerMultipart(multipart: MultipartAdmin, method: string, url: URL, segments: string[], response: ServerResponse): Promise<boolean> {
  const bucket = decodeURIComponent(segments[0] ?? '');
  const uploadId = url.searchParams.get('uploadId');
  if (method === 'DELETE' && segments.length >= 2 && uploadId !== null) {
    if (await multipart.abort(bucket, uploadId)) {
      response.writeHead(204).end();
    } else {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`;
      response.writeHead(404, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
    }
    return true;
  }
  if (method === 'GET' && segments.length === 1 && url.searchParams.has('uploads')) {
    const prefix = url.searchParams.get('prefix') ?? '';
    const escape = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
    const uploads = (await multipart.list(bucket, prefix))
      .map((upload) => `<Upload><Key>${escape(upload.key)}</Key><UploadId>${escape(upload.uploadId)}</UploadId></Upload>`)
      .join('');
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>${escape(bucket)}</Bucket><Prefix>${escape(prefix)}</Prefix><IsTruncated>false</IsTruncated>${uploads}</ListMultipartUploadsResult>`;
    response.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
    return true;
  }
  return false;
}

/** The checked form again, for s3rver: its fields, then the file counted against the policy's content-length-range. */
async function* reencodedForm(form: PostForm, boundary: string, range: { min: number; max: number } | undefined): AsyncGenerator<Buffer> {
  for (const [name, value] of form.fields) {
    yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  }
  const contentType = form.fields.get('content-type') ?? 'application/octet-stream';
  yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${form.fileName.replace(/"/g, '')}"\r\nContent-Type: ${contentType}\r\n\r\n`);
  let bytes = 0;
  for await (const chunk of form.file as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (range && bytes > range.max) throw new S3Refusal(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
    yield chunk;
  }
  if (range && bytes < range.min) throw new S3Refusal(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size');
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}
