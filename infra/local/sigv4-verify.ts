/**
 * SigV4 for the local stack's AWS-shaped services: the incoming request's signature is recomputed with the AWS
 * SDK's own signer (@smithy/signature-v4) over the headers it names, and compared. Only the local
 * credentials are known; anything unsigned, signed by another key, stale or altered is refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The keys the local stack's SDK clients sign with (stack.ts sets them when unset). */
export const localCredentials = (env = process.env): LocalCredentials => ({
  accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'S3RVER',
  secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'S3RVER',
});

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 15 * 60 * 1000;

/** Why the request is refused, or undefined when its signature is the local credentials' own. */
export async function sigV4Refusal(req: IncomingMessage, body: Buffer, service: string, credentials: LocalCredentials): Promise<string | undefined> {
  const match = AUTHORIZATION.exec(req.headers.authorization ?? '');
  if (!match) return 'The request is not signed with AWS Signature Version 4.';
  const [, accessKeyId, day, region, signedService, signedHeaderList, signature] = match as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId) return 'The security token included in the request is invalid.';
  if (signedService !== service) return `The credential is scoped to ${signedService}, not ${service}.`;
  const amzDate = req.headers['x-amz-date'];
  const signedAt = typeof amzDate === 'string' ? Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) : NaN;
  if (!Number.isFinite(signedAt) || amzDate?.slice(0, 8) !== day) return 'The request has no valid X-Amz-Date.';
  if (Math.abs(Date.now() - signedAt) > MAX_SKEW_MS) return 'Signature expired: the request was signed more than 15 minutes from now.';
  const names = signedHeaderList!.split(';');
  if (!names.includes('host')) return 'The signed headers must include host.';
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = req.headers[name];
    if (value === undefined) return `The signed header ${name} is missing.`;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // A signed payload hash must be the body's own, or the signature would vouch for other bytes.
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (payloadHash !== undefined && payloadHash !== createHash('sha256').update(body).digest('hex')) {
    return 'The provided x-amz-content-sha256 header does not match what was computed.';
  }
  const url = new URL(req.url ?? '/', 'http://local');
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0]! : values;
  }
  const signer = new SignatureV4({ credentials, region: region!, service, sha256: Sha256, applyChecksum: false });
  const signed = await signer.sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: headers.host!, path: (req.url ?? '/').split('?')[0]!, query, headers, body },
    { signingDate: new Date(signedAt), signingRegion: region, signingService: service, signableHeaders: new Set(names) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  const same = expected.length === signature!.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature!));
  return same ? undefined : 'The request signature we calculated does not match the signature you provided.';
}
