import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deadLetterFiles,
  deliverS3EventsToRules,
  eventRules,
  matchesEventPattern,
  objectCreatedEvents,
} from '../../infra/local/local-eventbridge';
import { startLocalS3, type LocalS3 } from '../../infra/local/local-s3';
import { loadServerlessFunctions } from '../../infra/local/serverless-config';

const origin = { account: '000000000000', region: 'us-east-1' };
const functions = loadServerlessFunctions(path.resolve('serverless.yml'));
const localNames = { UploadsBucket: 'ferry-uploads' };

/** A record as s3rver emits it (its keys are the objects' names, not URL-encoded). */
const record = (eventName: string, key: string, extra: Record<string, unknown> = {}) => ({
  eventVersion: '2.0',
  eventSource: 'aws:s3',
  awsRegion: 'us-east-1',
  eventTime: '2026-12-01T20:00:00.123Z',
  eventName,
  requestParameters: { sourceIPAddress: '127.0.0.1' },
  responseElements: { 'x-amz-request-id': 'REQ1' },
  s3: { bucket: { name: 'ferry-uploads' }, object: { key, size: 10, eTag: 'abc', sequencer: '18C0FFEE', ...extra } },
});

describe('the local S3 → EventBridge delivery', () => {
  it('turns every created object of a notification into the "Object Created" event AWS sends, and drops removals', () => {
    const events = objectCreatedEvents(
      {
        Records: [
          record('ObjectCreated:Post', 'uploads/user:1/b/c d'),
          record('ObjectRemoved:Delete', 'uploads/x/y/z'),
          record('ObjectCreated:Put', 'uploads/user:1/b/e'),
        ],
      },
      origin,
    );

    expect(events).toEqual([
      {
        version: '0',
        id: expect.any(String),
        'detail-type': 'Object Created',
        source: 'aws.s3',
        account: '000000000000',
        time: '2026-12-01T20:00:00Z',
        region: 'us-east-1',
        resources: ['arn:aws:s3:::ferry-uploads'],
        detail: {
          version: '0',
          bucket: { name: 'ferry-uploads' },
          object: { key: 'uploads/user:1/b/c d', size: 10, etag: 'abc', sequencer: '18C0FFEE' },
          'request-id': 'REQ1',
          requester: '000000000000',
          'source-ip-address': '127.0.0.1',
          reason: 'POST Object',
        },
      },
      expect.objectContaining({
        detail: expect.objectContaining({ object: expect.objectContaining({ key: 'uploads/user:1/b/e' }), reason: 'PutObject' }),
      }),
    ]);
    expect(objectCreatedEvents({ Records: [record('ObjectCreated:Copy', 'uploads/a/b/c')] }, origin)[0]?.detail.reason).toBe('CopyObject');
  });

  it("delivers to onUploadCreated by serverless.yml's rule: the uploads bucket, keys under uploads/", () => {
    const targetsOf = eventRules(functions, localNames);
    const [inUploads] = objectCreatedEvents({ Records: [record('ObjectCreated:Put', 'uploads/u/i/r')] }, origin);
    const [elsewhere] = objectCreatedEvents({ Records: [record('ObjectCreated:Put', 'exports/u/i/r')] }, origin);
    const otherBucket = { ...inUploads!, detail: { ...inUploads!.detail, bucket: { name: 'ferry-exports' } } };

    expect(targetsOf(inUploads)).toEqual(['onUploadCreated']);
    expect(targetsOf(elsewhere)).toEqual([]);
    expect(targetsOf(otherBucket)).toEqual([]);
    expect(targetsOf({ ...inUploads!, 'detail-type': 'Object Deleted' })).toEqual([]);
  });

  it('matches patterns as EventBridge does: lists of values, prefix, suffix, exists, anything-but; refuses what it does not know', () => {
    const event = { source: 'aws.s3', detail: { object: { key: 'uploads/a.csv' }, tags: ['x', 'y'] } };

    expect(matchesEventPattern({ source: ['aws.s3', 'aws.ec2'] }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { object: { key: [{ suffix: '.csv' }] } } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { tags: ['y'] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { reason: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesEventPattern({ source: [{ 'anything-but': 'aws.s3' }] }, event)).toBe(false);
    expect(matchesEventPattern({ detail: { object: { key: [{ prefix: 'exports/' }] } } }, event)).toBe(false);
    expect(() => matchesEventPattern({ source: [{ wildcard: 'aws.*' }] }, event)).toThrow('not supported locally');
  });
});

describe('the local S3', () => {
  let s3: LocalS3 | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    await s3?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts onUploadCreated with one EventBridge event per uploaded object, whole or multipart', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'ferry-s3-events-'));
    s3 = await startLocalS3({ dataDir, port: 0, buckets: ['ferry-uploads'] });
    const delivered: { functionKey: string; event: unknown }[] = [];
    const arrived = new Promise<void>((resolve) => {
      s3!.server.on(
        'event',
        deliverS3EventsToRules({
          functions,
          localNames,
          ...origin,
          invoke: async (functionKey, event) => {
            delivered.push({ functionKey, event });
            if (delivered.length === 2) resolve();
          },
          retryDelayMs: 1,
          deadLetter: async (letter) => {
            throw new Error(`unexpected dead letter ${JSON.stringify(letter)}`);
          },
        }),
      );
    });
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });

    await client.send(new PutObjectCommand({ Bucket: 'ferry-uploads', Key: 'uploads/user:1/i/a b', Body: 'id,userId\r\n' }));
    await client.send(new PutObjectCommand({ Bucket: 'ferry-uploads', Key: 'elsewhere/i/a', Body: 'not an upload' }));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'ferry-uploads', Key: 'uploads/user:1/i/m' }));
    const part = await client.send(
      new UploadPartCommand({ Bucket: 'ferry-uploads', Key: 'uploads/user:1/i/m', UploadId, PartNumber: 1, Body: 'x' }),
    );
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'ferry-uploads',
        Key: 'uploads/user:1/i/m',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    await arrived;

    expect(delivered).toEqual([
      {
        functionKey: 'onUploadCreated',
        event: expect.objectContaining({
          'detail-type': 'Object Created',
          source: 'aws.s3',
          detail: expect.objectContaining({
            bucket: { name: 'ferry-uploads' },
            object: expect.objectContaining({ key: 'uploads/user:1/i/a b', size: 11 }),
            reason: 'PutObject',
          }),
        }),
      },
      {
        functionKey: 'onUploadCreated',
        event: expect.objectContaining({
          detail: expect.objectContaining({
            bucket: { name: 'ferry-uploads' },
            object: expect.objectContaining({ key: 'uploads/user:1/i/m', size: 1 }),
          }),
        }),
      },
    ]);
  });
});

describe('a failing event target', () => {
  let dataDir: string | undefined;
  afterEach(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("is retried serverless.yml's maximumRetryAttempts times with growing delays, then kept as a dead letter under DATA_DIR/dead-letters", async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'ferry-dead-letters-'));
    const dir = path.join(dataDir, 'dead-letters');
    const keep = deadLetterFiles(dir);
    const attemptsAt: number[] = [];
    const kept = new Promise<void>((resolve) => {
      const deliver = deliverS3EventsToRules({
        functions,
        localNames,
        ...origin,
        invoke: async () => {
          attemptsAt.push(Date.now());
          throw new Error('No import for uploads/user-1/gone/r');
        },
        retryDelayMs: 20,
        deadLetter: async (letter) => {
          await keep(letter);
          resolve();
        },
      });
      deliver({ Records: [record('ObjectCreated:Post', 'uploads/user-1/gone/r')] });
    });
    await kept;

    expect(functions.onUploadCreated?.asyncRetryAttempts).toBe(2);
    expect(attemptsAt).toHaveLength(3);
    const [first = 0, second = 0, third = 0] = attemptsAt;
    expect(second - first).toBeGreaterThanOrEqual(18);
    expect(third - second).toBeGreaterThanOrEqual(38);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const letter = JSON.parse(readFileSync(path.join(dir, files[0] ?? ''), 'utf8')) as Record<string, unknown>;
    expect(letter).toMatchObject({
      functionKey: 'onUploadCreated',
      attempts: 3,
      error: 'Error: No import for uploads/user-1/gone/r',
      event: { 'detail-type': 'Object Created', detail: { bucket: { name: 'ferry-uploads' }, object: { key: 'uploads/user-1/gone/r' } } },
    });
    expect(files[0]).toBe(`${(letter.event as { id: string }).id}.json`);
  });
});
