import type { IncomingMessage } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { sigV4Refusal } from '../../infra/local/sigv4-verify';

const local = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A request as the AWS SDK signs it, shaped as node:http hands it to a server. */
async function signedRequest(credentials = local, body = '{"executionArn":"x"}', signingDate = new Date()) {
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'states', sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 8083,
      path: '/',
      query: {},
      headers: { host: '127.0.0.1:8083', 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AWSStepFunctions.DescribeExecution' },
      body,
    },
    { signingDate },
  );
  const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { req: { method: 'POST', url: '/', headers } as unknown as IncomingMessage, body: Buffer.from(body) };
}

describe('the local SigV4 check', () => {
  it('accepts a request the SDK signed with the local credentials', async () => {
    const { req, body } = await signedRequest();
    expect(await sigV4Refusal(req, body, 'states', local)).toBeUndefined();
  });

  it('refuses an unsigned request, another key, a wrong secret, an altered body, a stale date and another service', async () => {
    const unsigned = { method: 'POST', url: '/', headers: { host: 'x' } } as unknown as IncomingMessage;
    expect(await sigV4Refusal(unsigned, Buffer.alloc(0), 'states', local)).toMatch(/not signed/);
    const other = await signedRequest({ accessKeyId: 'AKIAOTHER', secretAccessKey: 'S3RVER' });
    expect(await sigV4Refusal(other.req, other.body, 'states', local)).toMatch(/security token/);
    const wrongSecret = await signedRequest({ accessKeyId: 'S3RVER', secretAccessKey: 'guess' });
    expect(await sigV4Refusal(wrongSecret.req, wrongSecret.body, 'states', local)).toMatch(/does not match/);
    const altered = await signedRequest();
    expect(await sigV4Refusal(altered.req, Buffer.from('{"executionArn":"y"}'), 'states', local)).toMatch(/x-amz-content-sha256/);
    const { 'x-amz-content-sha256': _hash, ...noHashHeaders } = altered.req.headers;
    const noHash = { ...altered.req, headers: noHashHeaders } as unknown as IncomingMessage;
    expect(await sigV4Refusal(noHash, Buffer.from('{"executionArn":"y"}'), 'states', local)).toMatch(/signed header|does not match/);
    const stale = await signedRequest(local, '{}', new Date(Date.now() - 20 * 60_000));
    expect(await sigV4Refusal(stale.req, stale.body, 'states', local)).toMatch(/expired/);
    const states = await signedRequest();
    expect(await sigV4Refusal(states.req, states.body, 'execute-api', local)).toMatch(/scoped to states/);
  });
});
