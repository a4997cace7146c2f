import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { accessDenied, preconditionFailed, S3Refusal, sendRefusal } from './errors';
import { boundaryOf, readPostForm, type PostForm } from './multipart-form';
import { checkPolicy } from './post-policy';
import type { MultipartUploads } from '../s3rver-multipart';
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
  /**
   * A presigned request or POST carries its signer's authority: asked when one is used, with the signature
   * that names the signer; returns S3's AccessDenied message when the signer may not do it (local IAM).
   */
  authorizePresigned?: (use: PresignedUse) => string | undefined | Promise<string | undefined>;
  /** The stored object's ETag (undefined when there is none): s3rver ignores If-Match, so the front answers it. */
  etagOf?: (bucket: string, key: string) => Promise<string | undefined>;
  /** ListMultipartUploads and AbortMultipartUpload, which s3rver lacks, answered by the front. */
  multipart?: MultipartUploads;
}

export interface PresignedUse {
  signature: string;
  method: 'GET' | 'HEAD' | 'PUT' | 'POST';
  bucket: string;
  key: string;
  uploadId?: string;
}

const PRESIGNABLE = new Set(['GET', 'HEAD', 'PUT', 'POST']);

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
      // A client that hung up mid-request is no failure of the front's.
      if (!(error instanceof S3Refusal) && !request.destroyed) console.error('[s3-front]', error);
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
    else {
      await verifyPresigned(signed, options.credentials, now());
      const [bucket = '', ...key] = segments;
      if (PRESIGNABLE.has(signed.method) && key.length > 0) {
        const uploadId = url.searchParams.get('uploadId');
        await authorize({
          signature: url.searchParams.get('X-Amz-Signature') ?? '',
          method: signed.method as PresignedUse['method'],
          bucket: decodeURIComponent(bucket),
          key: decodeURIComponent(key.join('/')),
          ...(uploadId ? { uploadId } : {}),
        });
      }
    }
    // x-amz-content-sha256 is covered by the signature; a hex digest of a streamed body is not recomputed here (see README).
    await checkPreconditions(signed, url);
    if (options.multipart && (await answerMultipart(options.multipart, signed, url, response))) return;
    return forward(request, response, request);
  }

  /** `GET /bucket?uploads`, `GET /bucket/key?uploadId=…` (ListParts) and `DELETE /bucket/key?uploadId=…`, as S3 answers them; false for anything else. */
  async function answerMultipart(multipart: MultipartUploads, signed: SignedRequest, url: URL, response: ServerResponse): Promise<boolean> {
    const [bucket, key] = bucketAndKey(url.pathname);
    if (signed.method === 'GET' && !key && url.searchParams.has('uploads')) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const uploads = await multipart.list(bucket, prefix);
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${uploads
        .map(
          (upload) =>
            `<Upload><Key>${xml(upload.key)}</Key><UploadId>${xml(upload.uploadId)}</UploadId><Initiated>${upload.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
        )
        .join('')}</ListMultipartUploadsResult>`;
      response.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      response.end(body);
      return true;
    }
    const uploadId = url.searchParams.get('uploadId');
    if (signed.method === 'GET' && key && uploadId !== null) {
      const parts = await multipart.parts(bucket, key, uploadId);
      if (!parts) throw new S3Refusal(404, 'NoSuchUpload', 'The specified upload does not exist.');
      const marker = Number(url.searchParams.get('part-number-marker') ?? 0) || 0;
      const maxParts = Math.min(1000, Math.max(1, Number(url.searchParams.get('max-parts') ?? 1000) || 1000));
      const after = parts.filter((part) => part.partNumber > marker);
      const page = after.slice(0, maxParts);
      const truncated = after.length > page.length;
      const next = page.at(-1)?.partNumber ?? marker;
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket)}</Bucket><Key>${xml(key)}</Key><UploadId>${xml(uploadId)}</UploadId><PartNumberMarker>${marker}</PartNumberMarker><NextPartNumberMarker>${next}</NextPartNumberMarker><MaxParts>${maxParts}</MaxParts><IsTruncated>${truncated}</IsTruncated><StorageClass>STANDARD</StorageClass>${page
        .map(
          (part) =>
            `<Part><PartNumber>${part.partNumber}</PartNumber><LastModified>${part.lastModified.toISOString()}</LastModified><ETag>&quot;${xml(part.etag)}&quot;</ETag><Size>${part.bytes}</Size></Part>`,
        )
        .join('')}</ListPartsResult>`;
      response.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      response.end(body);
      return true;
    }
    if (signed.method === 'DELETE' && key && uploadId !== null) {
      if (!(await multipart.abort(bucket, key, uploadId))) throw new S3Refusal(404, 'NoSuchUpload', 'The specified upload does not exist.');
      response.writeHead(204);
      response.end();
      return true;
    }
    return false;
  }

  /** If-Match on GET/HEAD and x-amz-copy-source-if-match on copies, as S3 answers them: 412 when the ETag differs. */
  async function checkPreconditions(signed: SignedRequest, url: URL): Promise<void> {
    if (!options.etagOf) return;
    const header = (name: string) => {
      const value = signed.headers[name];
      return Array.isArray(value) ? value.join(',') : value;
    };
    const ifMatch = header('if-match');
    if (ifMatch !== undefined && (signed.method === 'GET' || signed.method === 'HEAD')) {
      const [bucket, key] = bucketAndKey(url.pathname);
      if (key) await mustMatch(bucket, key, ifMatch);
    }
    const copySource = header('x-amz-copy-source');
    const copyIfMatch = header('x-amz-copy-source-if-match');
    if (copySource !== undefined && copyIfMatch !== undefined && signed.method === 'PUT') {
      const [bucket, key] = bucketAndKey(copySource.split('?')[0] ?? '');
      if (key) await mustMatch(bucket, key, copyIfMatch);
    }
  }

  async function mustMatch(bucket: string, key: string, condition: string): Promise<void> {
    const etag = await options.etagOf?.(bucket, key);
    // No object: S3 answers 404 for it, which s3rver does.
    if (etag === undefined) return;
    const wanted = condition.split(',').map(bareEtag);
    if (!wanted.includes('*') && !wanted.includes(bareEtag(etag))) throw preconditionFailed();
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
    const key = field('key');
    if (key === undefined) throw new S3Refusal(400, 'InvalidArgument', 'Bucket POST must contain a field named \'key\'.');
    await authorize({ signature, method: 'POST', bucket, key: key.replace('${filename}', form.fileName) });
    const body = Readable.from(reencodedForm(form, boundary, sizeRange));
    await forward(request, response, body);
  }

  async function authorize(use: PresignedUse): Promise<void> {
    const refusal = await options.authorizePresigned?.(use);
    if (refusal !== undefined) throw accessDenied(refusal);
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

/** `/bucket/some/key` (a path or an x-amz-copy-source, %-encoded) → the bucket and the decoded key. */
function bucketAndKey(path: string): [string, string] {
  const trimmed = path.replace(/^\//, '');
  const slash = trimmed.indexOf('/');
  if (slash < 0) return [decodeURIComponent(trimmed), ''];
  return [decodeURIComponent(trimmed.slice(0, slash)), decodeURIComponent(trimmed.slice(slash + 1))];
}

const bareEtag = (etag: string): string => etag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

const xml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
