import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { accessDenied, S3Refusal } from './errors';

/**
 * SigV4 as S3 checks it, recomputed with the AWS SDK's own signer (@smithy/signature-v4) from the local
 * credentials: header-signed requests (Authorization), presigned URLs (X-Amz-Signature, X-Amz-Expires) and
 * the signature of a POST policy. Nothing here trusts what the request says about itself beyond the inputs
 * the signature covers.
 */

export type Credentials = ReadonlyMap<string, string>;

/** S3 refuses a header-signed request whose X-Amz-Date is further than this from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;

export interface Scope {
  accessKeyId: string;
  secretAccessKey: string;
  date: string;
  region: string;
  service: string;
}

/** `AKID/20260101/us-east-1/s3/aws4_request` → its parts, with the secret of a known key. */
export function credentialScope(credential: string, credentials: Credentials): Scope {
  const [accessKeyId = '', date = '', region = '', service = '', terminator] = credential.split('/');
  if (!/^\d{8}$/.test(date) || !region || service !== 's3' || terminator !== 'aws4_request') {
    throw new S3Refusal(400, 'AuthorizationQueryParametersError', `The credential is malformed: ${credential}`);
  }
  const secretAccessKey = credentials.get(accessKeyId);
  if (secretAccessKey === undefined) {
    throw new S3Refusal(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  }
  return { accessKeyId, secretAccessKey, date, region, service };
}

/** `20260101T120000Z` → Date, or a refusal. */
export function amzDate(value: string | undefined): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!match) throw accessDenied('X-Amz-Date is missing or is not in the ISO 8601 basic format.');
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

const signerFor = (scope: Scope) =>
  new SignatureV4({
    credentials: { accessKeyId: scope.accessKeyId, secretAccessKey: scope.secretAccessKey },
    region: scope.region,
    service: scope.service,
    sha256: Sha256,
    // S3 signs the path as sent (already escaped once), like the SDK's S3 client.
    uriEscapePath: false,
  });

const sameSignature = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const mismatch = () =>
  new S3Refusal(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');

/** The request as the signer sees it: raw (escaped) path, decoded query, and only the headers named as signed. */
function requestToVerify(input: {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  signedHeaders: string[];
  without?: string;
}): HttpRequest {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of input.query) {
    if (name === input.without) continue;
    const existing = query[name];
    query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  const headers: Record<string, string> = {};
  for (const name of input.signedHeaders) {
    const value = input.headers[name];
    if (value === undefined) throw mismatch();
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const host = input.headers.host ?? '';
  return { method: input.method, protocol: 'http:', hostname: host.replace(/:\d+$/, ''), path: input.path, query, headers };
}

export interface SignedRequest {
  method: string;
  /** The request target's path, as received (percent-escapes kept). */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

/** Whether the request carries any SigV4 signature at all (unsigned requests are anonymous, and Ferry grants anonymous nothing). */
export const isSigned = (request: SignedRequest) => request.headers.authorization !== undefined || request.query.has('X-Amz-Signature');

/** Checks an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` request. Resolves with the access key. */
export async function verifyHeaderSigned(request: SignedRequest, credentials: Credentials, now: Date): Promise<string> {
  const authorization = String(request.headers.authorization);
  const match = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match?.[1] || !match[2] || !match[3]) throw accessDenied('Only AWS4-HMAC-SHA256 signatures are accepted.');
  const scope = credentialScope(match[1], credentials);
  const signedHeaders = match[2].split(';');
  if (!signedHeaders.includes('host')) throw accessDenied('The host header must be signed.');
  const payloadHash = request.headers['x-amz-content-sha256'];
  if (typeof payloadHash !== 'string') throw new S3Refusal(400, 'InvalidArgument', 'x-amz-content-sha256 must be sent with a SigV4 request.');
  const date = amzDate(request.headers['x-amz-date'] as string | undefined);
  if (Math.abs(now.getTime() - date.getTime()) > MAX_SKEW_MS) {
    throw new S3Refusal(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  }
  const toVerify = requestToVerify({ ...request, signedHeaders });
  // The signer reads the payload hash from x-amz-content-sha256 (a hex digest, UNSIGNED-PAYLOAD or STREAMING-*).
  toVerify.headers['x-amz-content-sha256'] = payloadHash;
  const signed = await signerFor(scope).sign(toVerify, {
    signingDate: date,
    signableHeaders: new Set(signedHeaders),
    unsignableHeaders: new Set(Object.keys(toVerify.headers).filter((name) => !signedHeaders.includes(name))),
  });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? '';
  if (!sameSignature(expected, match[3])) throw mismatch();
  return scope.accessKeyId;
}

/** Checks a presigned URL: its signature over the query (all but X-Amz-Signature) and signed headers, and its expiry. */
export async function verifyPresigned(request: SignedRequest, credentials: Credentials, now: Date): Promise<string> {
  const q = request.query;
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw accessDenied('Only AWS4-HMAC-SHA256 presigned URLs are accepted.');
  const scope = credentialScope(q.get('X-Amz-Credential') ?? '', credentials);
  const date = amzDate(q.get('X-Amz-Date') ?? undefined);
  const expires = Number(q.get('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGNED_SECONDS) {
    throw new S3Refusal(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires must be between 1 and 604800 seconds.');
  }
  if (now.getTime() > date.getTime() + expires * 1000) throw accessDenied('Request has expired');
  if (date.getTime() - now.getTime() > MAX_SKEW_MS) throw accessDenied('Request is not valid yet');
  const signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (!signedHeaders.includes('host')) throw accessDenied('The host header must be signed.');
  const toVerify = requestToVerify({ ...request, signedHeaders, without: 'X-Amz-Signature' });
  // A presigned URL's payload is always UNSIGNED-PAYLOAD; keep the signer from hoisting or signing that header.
  const unhoistable = new Set([...signedHeaders, 'x-amz-content-sha256']);
  toVerify.headers['x-amz-content-sha256'] ??= 'UNSIGNED-PAYLOAD';
  const presigned = await signerFor(scope).presign(toVerify, {
    signingDate: date,
    expiresIn: expires,
    signableHeaders: new Set(signedHeaders),
    unsignableHeaders: new Set(Object.keys(toVerify.headers).filter((name) => !signedHeaders.includes(name))),
    unhoistableHeaders: unhoistable,
  });
  const expected = String(presigned.query?.['X-Amz-Signature'] ?? '');
  if (!sameSignature(expected, q.get('X-Amz-Signature') ?? '')) throw mismatch();
  return scope.accessKeyId;
}

/** The SigV4 signature of a POST policy: HMAC of the base64 policy with the scope's signing key. */
export async function verifyPolicySignature(
  fields: { policy: string; credential: string; date: string; signature: string },
  credentials: Credentials,
): Promise<Date> {
  const scope = credentialScope(fields.credential, credentials);
  const date = amzDate(fields.date);
  const expected = await signerFor(scope).sign(fields.policy, { signingDate: date });
  if (!sameSignature(expected, fields.signature)) throw mismatch();
  return date;
}
