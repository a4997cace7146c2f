import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCliMissing, titled } from '../requirements';
import { api, downloadCsv, pollUntilDone, signIn, stack } from './client';

/**
 * The local S3 and Step Functions answer a client that is not the JavaScript SDK: the AWS CLI (botocore)
 * parses their XML and JSON strictly in its own way, so it catches wire-format drift the SDK tolerates.
 */

const why = awsCliMissing();
let home: string;
let executionArn: string;
let csvText: string;
let bucket: string;
let key: string;

/** The CLI with the local stack's credentials only: no profile, config or pager of whoever runs the tests. */
function aws(...args: string[]): { stdout: string; stderr: string; status: number | null } {
  const run = spawnSync('aws', args, {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: home,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_PAGER: '',
    },
    timeout: 60_000,
  });
  return { stdout: run.stdout, stderr: run.stderr, status: run.status };
}

describe.skipIf(why)(titled('the AWS CLI against the local stack', why), () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'ferry-aws-cli-'));
    // The local S3 has no DNS for virtual-hosted buckets: path-style addressing, as the SDK adapters use.
    // iso8601: botocore parses each wire timestamp and prints it again, instead of echoing the raw value.
    writeFileSync(join(home, 'config'), '[default]\ncli_timestamp_format = iso8601\ns3 =\n    addressing_style = path\n');
    const alice = await signIn('alice');
    const { status, body } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', {
      type: 'direct',
      searchCriteria: { q: 'espresso', tags: ['coffee'] },
    });
    expect(status).toBe(202);
    executionArn = body.executionArn;
    const done = await pollUntilDone(alice, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    csvText = (await downloadCsv(done.url!)).text;
    // The presigned link is path-style: <endpoint>/<bucket>/<key>?X-Amz-…
    const [, linkBucket, ...keyParts] = new URL(done.url!).pathname.split('/');
    bucket = linkBucket!;
    key = keyParts.map(decodeURIComponent).join('/');
  });

  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('lists the export object with aws s3 ls', () => {
    const listed = aws('s3', 'ls', `s3://${bucket}/${key.slice(0, key.lastIndexOf('/') + 1)}`, '--endpoint-url', stack().s3Endpoint);
    expect(listed.stderr).toBe('');
    expect(listed.status).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.endsWith(` ${key.slice(key.lastIndexOf('/') + 1)}`));
    expect(line, `${key} in:\n${listed.stdout}`).toBeDefined();
    // "2026-01-01 12:00:00       1234 name": the size the CLI parsed from the XML is the file's.
    expect(Number(line!.trim().split(/\s+/)[2])).toBe(Buffer.byteLength(csvText));
  });

  it('fetches the export object with aws s3 cp, byte for byte the presigned download', () => {
    const fetched = aws('s3', 'cp', `s3://${bucket}/${key}`, '-', '--endpoint-url', stack().s3Endpoint);
    expect(fetched.stderr).toBe('');
    expect(fetched.status).toBe(0);
    expect(fetched.stdout).toBe(csvText);
  });

  it('describes the execution through the local Step Functions endpoint', () => {
    const described = aws('stepfunctions', 'describe-execution', '--execution-arn', executionArn, '--endpoint-url', stack().sfnEndpoint);
    expect(described.stderr).toBe('');
    expect(described.status).toBe(0);
    const execution = JSON.parse(described.stdout) as Record<string, unknown>;
    expect(execution).toMatchObject({ executionArn, status: 'SUCCEEDED' });
    expect(String(execution.stateMachineArn)).toMatch(/^arn:aws:states:us-east-1:\d{12}:stateMachine:ferry-export-local$/);
    // Both timestamps parsed from the wire, in order, and recent.
    const started = Date.parse(String(execution.startDate));
    expect(started).toBeGreaterThan(Date.now() - 10 * 60_000);
    expect(started).toBeLessThanOrEqual(Date.parse(String(execution.stopDate)));
    expect(JSON.parse(String(execution.input))).toMatchObject({ delivery: 'direct' });
    expect(JSON.parse(String(execution.output))).toBeTypeOf('object');
  });

  it('answers a missing execution with the error name botocore knows', () => {
    const missing = aws('stepfunctions', 'describe-execution', '--execution-arn', `${executionArn}-missing`, '--endpoint-url', stack().sfnEndpoint);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('ExecutionDoesNotExist');
  });
});
