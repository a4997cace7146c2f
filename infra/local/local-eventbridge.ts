/**
 * S3 → EventBridge → Lambda, locally: each object the local S3 creates becomes the "Object Created" event
 * AWS's EventBridge delivers, and goes to every function whose serverless.yml `eventBridge` pattern matches it.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord } from './infra-yaml';
import type { ServerlessFunction } from './serverless-config';

/** The EventBridge event S3 sends for a new object (docs: Amazon S3 → EventBridge event message structure). */
export interface ObjectCreatedEvent {
  version: '0';
  id: string;
  'detail-type': 'Object Created';
  source: 'aws.s3';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    version: '0';
    bucket: { name: string };
    object: { key: string; size?: number; etag?: string; sequencer?: string };
    'request-id': string;
    requester: string;
    'source-ip-address'?: string;
    reason: 'PutObject' | 'POST Object' | 'CopyObject' | 'CompleteMultipartUpload';
  };
}

/** What s3rver emits: an S3 event notification (its keys are the objects' names, already decoded). */
export interface S3Notification {
  Records?: Array<{
    eventName?: string;
    eventTime?: string;
    awsRegion?: string;
    requestParameters?: { sourceIPAddress?: string };
    responseElements?: { 'x-amz-request-id'?: string };
    s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number | string; eTag?: string; sequencer?: string } };
  }>;
}

// s3rver reports a completed multipart upload as ObjectCreated:Post (with a plain MD5 ETag), so locally its
// reason reads "POST Object"; Ferry reads neither.
const REASONS: Record<string, ObjectCreatedEvent['detail']['reason']> = {
  'ObjectCreated:Put': 'PutObject',
  'ObjectCreated:Post': 'POST Object',
  'ObjectCreated:Copy': 'CopyObject',
  'ObjectCreated:CompleteMultipartUpload': 'CompleteMultipartUpload',
};

/** One EventBridge event per created object of the notification (each record, not only the first). */
export function objectCreatedEvents(notification: S3Notification, origin: { account: string; region: string }): ObjectCreatedEvent[] {
  return (notification.Records ?? []).flatMap((record): ObjectCreatedEvent[] => {
    const bucket = record.s3?.bucket?.name;
    const object = record.s3?.object;
    const reason = REASONS[record.eventName ?? ''];
    if (!bucket || object?.key === undefined || !reason) return [];
    return [
      {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Object Created',
        source: 'aws.s3',
        account: origin.account,
        time: (record.eventTime ?? new Date().toISOString()).replace(/\.\d+Z$/, 'Z'),
        region: record.awsRegion ?? origin.region,
        resources: [`arn:aws:s3:::${bucket}`],
        detail: {
          version: '0',
          bucket: { name: bucket },
          object: {
            key: object.key,
            ...(object.size !== undefined ? { size: Number(object.size) } : {}),
            ...(object.eTag ? { etag: object.eTag } : {}),
            ...(object.sequencer ? { sequencer: object.sequencer } : {}),
          },
          'request-id': record.responseElements?.['x-amz-request-id'] ?? randomUUID(),
          requester: origin.account,
          ...(record.requestParameters?.sourceIPAddress ? { 'source-ip-address': record.requestParameters.sourceIPAddress } : {}),
          reason,
        },
      },
    ];
  });
}

/** Replaces `{ Ref: <logical id> }` in a pattern with the local name of that resource. */
export function resolveRefs(value: unknown, localNames: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveRefs(item, localNames));
  if (!isRecord(value)) return value;
  if (Object.keys(value).length === 1 && typeof value.Ref === 'string') {
    const name = localNames[value.Ref];
    if (name === undefined) throw new Error(`event pattern refers to ${value.Ref}, which the local stack has no name for`);
    return name;
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveRefs(item, localNames)]));
}

const matchesValue = (condition: unknown, value: unknown): boolean => {
  if (!isRecord(condition)) return value === condition;
  const [operator, operand] = Object.entries(condition)[0] ?? [];
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && typeof operand === 'string' && value.startsWith(operand);
    case 'suffix':
      return typeof value === 'string' && typeof operand === 'string' && value.endsWith(operand);
    case 'exists':
      return (value !== undefined) === operand;
    case 'anything-but':
      return value !== undefined && !(Array.isArray(operand) ? operand : [operand]).includes(value);
    default:
      // An operator this stand-in does not know would otherwise never match, silently.
      throw new Error(`event pattern operator ${JSON.stringify(condition)} is not supported locally`);
  }
};

/** EventBridge's matching: every field of the pattern matches; a list of values matches any of them. */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (!isRecord(pattern)) throw new Error(`an event pattern is an object, got ${JSON.stringify(pattern)}`);
  return Object.entries(pattern).every(([field, condition]) => {
    const value = isRecord(event) ? event[field] : undefined;
    if (Array.isArray(condition)) {
      // A missing field is held as undefined, which `exists: false` matches.
      const values = Array.isArray(value) ? value : [value];
      return condition.some((item) => values.some((candidate) => matchesValue(item, candidate)));
    }
    return matchesEventPattern(condition, value);
  });
}

/** The functions whose `eventBridge` rules match an event, as [function key, event] deliveries. */
export function eventRules(functions: Record<string, ServerlessFunction>, localNames: Record<string, string>) {
  const rules = Object.entries(functions).flatMap(([functionKey, fn]) =>
    fn.eventPatterns.map((pattern) => ({ functionKey, pattern: resolveRefs(pattern, localNames) })),
  );
  return (event: unknown): string[] => rules.filter((rule) => matchesEventPattern(rule.pattern, event)).map((rule) => rule.functionKey);
}

/** What the local stack keeps of an event its target never handled: AWS's dead-letter queue, as one file. */
export interface DeadLetter {
  functionKey: string;
  event: ObjectCreatedEvent;
  error: string;
  attempts: number;
  failedAt: string;
}

/** Dead letters as files under `dir` (DATA_DIR/dead-letters), one JSON per event, named by the event id. */
export const deadLetterFiles = (dir: string) => async (letter: DeadLetter) => {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${letter.event.id}.json`), `${JSON.stringify(letter, null, 2)}\n`);
};

/**
 * A listener for s3rver's `event`: each created object, as EventBridge delivers it, to each matching function.
 * As Lambda does for an async invocation, a handler that throws is retried the function's
 * `maximumRetryAttempts` times with growing delays (Lambda waits ~1 then ~2 minutes; `retryDelayMs` is the
 * first delay here), then the event goes to the dead letters instead of being lost.
 */
export function deliverS3EventsToRules(options: {
  functions: Record<string, ServerlessFunction>;
  /** Local names of the CloudFormation resources the patterns `Ref` (e.g. UploadsBucket → ferry-uploads). */
  localNames: Record<string, string>;
  account: string;
  region: string;
  invoke: (functionKey: string, event: unknown) => Promise<unknown>;
  retryDelayMs: number;
  deadLetter: (letter: DeadLetter) => Promise<void>;
}): (notification: S3Notification) => void {
  const targetsOf = eventRules(options.functions, options.localNames);
  const deliver = async (functionKey: string, event: ObjectCreatedEvent): Promise<void> => {
    const attempts = 1 + (options.functions[functionKey]?.asyncRetryAttempts ?? 2);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await options.invoke(functionKey, event);
        return;
      } catch (error) {
        lastError = error;
        if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs * 2 ** (attempt - 1)));
      }
    }
    const error = lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError);
    console.error(`[local-eventbridge] ${functionKey} failed ${attempts} times; event ${event.id} kept as a dead letter`, error);
    await options.deadLetter({ functionKey, event, error, attempts, failedAt: new Date().toISOString() });
  };
  return (notification) => {
    for (const event of objectCreatedEvents(notification, options)) {
      for (const functionKey of targetsOf(event)) {
        deliver(functionKey, event).catch((error: unknown) =>
          console.error(`[local-eventbridge] could not keep a dead letter for ${functionKey}`, error),
        );
      }
    }
  };
}
