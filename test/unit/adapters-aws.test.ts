import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ApiGatewayManagementApiClient, GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { ExecutionAlreadyExists, ExecutionDoesNotExist, InvalidArn, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { ApiGatewayPushChannel } from '../../adapters/aws/apigw-push';
import { S3_CLIENT_CHECKSUMS, S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { SesMailer } from '../../adapters/aws/ses-mailer';
import { StepFunctionsExecutions } from '../../adapters/aws/sfn-executions';
import { isTransientAwsError } from '../../adapters/aws/transient';
import { ExecutionAlreadyStarted, NotFound, Transient } from '../../core/errors';
import { FakeSend, awsError, testCredentials } from './aws-fakes';

const region = 'us-east-1';
const MiB = 1024 * 1024;

function s3Store() {
  const fake = new FakeSend();
  const client = fake.install(new S3Client({ region, credentials: testCredentials }));
  return { fake, store: new S3ObjectStore(client) };
}

const bytesOf = (body: unknown): number => {
  if (body instanceof Uint8Array || typeof body === 'string') return Buffer.byteLength(body as Uint8Array | string);
  throw new Error(`unexpected body ${typeof body}`);
};

describe('S3ObjectStore', () => {
  it('uploads a small stream in one PutObject with its content type and disposition, counting the bytes', async () => {
    const { fake, store } = s3Store();
    fake.on('PutObjectCommand', () => ({ ETag: '"e"' }));
    const { bytes } = await store.putStream('bucket', 'exports/u/e.csv', Readable.from(['a,b\r\n', '1,2\r\n']), {
      contentType: 'text/csv; charset=utf-8',
      contentDisposition: 'attachment; filename="x.csv"',
      metadata: { 'export-id': 'e' },
    });
    expect(bytes).toBe(10);
    const [put] = fake.named('PutObjectCommand');
    expect(put?.input).toMatchObject({
      Bucket: 'bucket',
      Key: 'exports/u/e.csv',
      ContentType: 'text/csv; charset=utf-8',
      ContentDisposition: 'attachment; filename="x.csv"',
      Metadata: { 'export-id': 'e' },
    });
    expect(put?.input).not.toHaveProperty('ServerSideEncryption');
    expect(bytesOf(put?.input.Body)).toBe(10);
  });

  it('uploads a large stream in 8 MiB multipart parts', async () => {
    const { fake, store } = s3Store();
    fake
      .on('CreateMultipartUploadCommand', () => ({ UploadId: 'upload-1' }))
      .on('UploadPartCommand', (command) => ({ ETag: `"part-${String(command.input.PartNumber)}"` }))
      .on('CompleteMultipartUploadCommand', () => ({ ETag: '"whole"' }));
    async function* chunks() {
      for (let i = 0; i < 18; i += 1) yield Buffer.alloc(MiB, 97); // 18 MiB
    }
    const { bytes } = await store.putStream('bucket', 'big.csv', Readable.from(chunks()), { contentType: 'text/csv' });
    expect(bytes).toBe(18 * MiB);
    const parts = fake.named('UploadPartCommand');
    expect(parts.map((part) => bytesOf(part.input.Body))).toEqual([8 * MiB, 8 * MiB, 2 * MiB]);
    expect(parts.every((part) => part.input.UploadId === 'upload-1')).toBe(true);
    const [complete] = fake.named('CompleteMultipartUploadCommand');
    expect((complete?.input.MultipartUpload as { Parts: unknown[] }).Parts).toHaveLength(3);
  });

  it('fails with the source error when the stream fails midway', async () => {
    const { fake, store } = s3Store();
    fake.on('PutObjectCommand', () => ({}));
    async function* failing() {
      yield 'a,b\r\n';
      throw new Transient('search went away');
    }
    await expect(store.putStream('bucket', 'k', Readable.from(failing()), { contentType: 'text/csv' })).rejects.toBeInstanceOf(Transient);
  });

  it('turns throttling from S3 into Transient', async () => {
    const { fake, store } = s3Store();
    fake.on('PutObjectCommand', () => {
      throw awsError('SlowDown', 503);
    });
    await expect(store.putStream('bucket', 'k', Readable.from(['x']), { contentType: 'text/csv' })).rejects.toBeInstanceOf(Transient);
  });

  it('presigns a GET that expires when asked and names the downloaded file', async () => {
    const { store } = s3Store();
    const url = new URL(await store.presignGet('bucket', 'exports/u/e.csv', 3600, 'ferry-export.csv'));
    expect(url.pathname).toBe('/exports/u/e.csv');
    expect(url.hostname).toBe('bucket.s3.us-east-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(url.searchParams.get('response-content-disposition')).toBe('attachment; filename="ferry-export.csv"');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a presigned UploadPart URL carries no checksum parameter (strict S3 stores reject the empty-body CRC32)', async () => {
    const checksumParams = (url: string) => [...new URL(url).searchParams.keys()].filter((name) => /^x-amz-(checksum-|sdk-checksum)/i.test(name));
    const store = new S3ObjectStore(new S3Client({ region, credentials: testCredentials, ...S3_CLIENT_CHECKSUMS }));
    const url = await store.presignUploadPart('bucket', 'uploads/u/i/f.csv', 'upload-1', 3, 900);
    expect(new URL(url).searchParams.get('partNumber')).toBe('3');
    expect(checksumParams(url)).toEqual([]);
    // The SDK's default adds them: the reason the composition root builds its S3 client with S3_CLIENT_CHECKSUMS.
    const defaults = new S3ObjectStore(new S3Client({ region, credentials: testCredentials }));
    expect(checksumParams(await defaults.presignUploadPart('bucket', 'k', 'upload-1', 1, 900))).not.toEqual([]);
  });

  it('presigns without a disposition when no file name is given', async () => {
    const { store } = s3Store();
    const url = new URL(await store.presignGet('bucket', 'k', 60));
    expect(url.searchParams.has('response-content-disposition')).toBe(false);
  });

  it('reads an object as a stream, and a missing one is not found', async () => {
    const { fake, store } = s3Store();
    fake.on('GetObjectCommand', (command) => {
      if (command.input.Key === 'missing') throw awsError('NoSuchKey', 404);
      return { Body: Readable.from([Buffer.from('hello')]) };
    });
    expect(await text(await store.getStream('bucket', 'k'))).toBe('hello');
    await expect(store.getStream('bucket', 'missing')).rejects.toBeInstanceOf(NotFound);
  });

  it('deletes an object', async () => {
    const { fake, store } = s3Store();
    fake.on('DeleteObjectCommand', () => ({}));
    await store.delete('bucket', 'k');
    expect(fake.named('DeleteObjectCommand')[0]?.input).toEqual({ Bucket: 'bucket', Key: 'k' });
  });
});

describe('SesMailer', () => {
  const mailer = (fake: FakeSend) => new SesMailer(fake.install(new SESv2Client({ region, credentials: testCredentials })), 'Ferry <no-reply@ferry.test>');

  it('sends a simple UTF-8 message with text and HTML bodies', async () => {
    const fake = new FakeSend().on('SendEmailCommand', () => ({ MessageId: 'm-1' }));
    await mailer(fake).send({ to: 'alice@example.com', subject: 'Ready – ✓', text: 'plain', html: '<p>html</p>' });
    expect(fake.sent[0]?.input).toEqual({
      FromEmailAddress: 'Ferry <no-reply@ferry.test>',
      Destination: { ToAddresses: ['alice@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Ready – ✓', Charset: 'UTF-8' },
          Body: { Text: { Data: 'plain', Charset: 'UTF-8' }, Html: { Data: '<p>html</p>', Charset: 'UTF-8' } },
        },
      },
    });
  });

  it('turns throttling into Transient and keeps other errors as they are', async () => {
    const throttled = new FakeSend().on('SendEmailCommand', () => {
      throw awsError('TooManyRequestsException', 429);
    });
    await expect(mailer(throttled).send({ to: 'a@b.c', subject: 's', text: 't' })).rejects.toBeInstanceOf(Transient);
    const rejected = new FakeSend().on('SendEmailCommand', () => {
      throw awsError('MessageRejected', 400);
    });
    await expect(mailer(rejected).send({ to: 'a@b.c', subject: 's', text: 't' })).rejects.toMatchObject({ name: 'MessageRejected' });
  });
});

describe('ApiGatewayPushChannel', () => {
  const channel = (fake: FakeSend) =>
    new ApiGatewayPushChannel(fake.install(new ApiGatewayManagementApiClient({ region, credentials: testCredentials, endpoint: 'https://ws.test' })));

  it('posts the message as JSON to the connection', async () => {
    const fake = new FakeSend().on('PostToConnectionCommand', () => ({}));
    expect(await channel(fake).post('conn-1', { type: 'export.ready', rowCount: 3 })).toBe('delivered');
    const input = fake.sent[0]?.input;
    expect(input?.ConnectionId).toBe('conn-1');
    expect(JSON.parse(Buffer.from(input?.Data as Uint8Array).toString('utf8'))).toEqual({ type: 'export.ready', rowCount: 3 });
  });

  it('reports a gone connection (410) as gone', async () => {
    const fake = new FakeSend().on('PostToConnectionCommand', () => {
      throw new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } });
    });
    expect(await channel(fake).post('conn-1', {})).toBe('gone');
  });

  it('turns a 5xx into Transient', async () => {
    const fake = new FakeSend().on('PostToConnectionCommand', () => {
      throw awsError('InternalServerError', 500);
    });
    await expect(channel(fake).post('conn-1', {})).rejects.toBeInstanceOf(Transient);
  });
});

describe('StepFunctionsExecutions', () => {
  const arns = { export: 'arn:aws:states:us-east-1:1:stateMachine:ferry-export', import: 'arn:aws:states:us-east-1:1:stateMachine:ferry-import' };
  const executions = (fake: FakeSend) => new StepFunctionsExecutions(fake.install(new SFNClient({ region, credentials: testCredentials })), arns);
  const sfnError = <E>(Type: new (options: { message: string; $metadata: object }) => E) => new Type({ message: 'x', $metadata: { httpStatusCode: 400 } });

  it('starts the named workflow with the input as JSON', async () => {
    const fake = new FakeSend().on('StartExecutionCommand', () => ({ executionArn: 'arn:exec', startDate: new Date() }));
    expect(await executions(fake).start('export', 'export-1', { a: 1 })).toEqual({ executionArn: 'arn:exec' });
    expect(fake.sent[0]?.input).toEqual({ stateMachineArn: arns.export, name: 'export-1', input: '{"a":1}' });
  });

  it('reports a name already used as ExecutionAlreadyStarted, in the domain\'s words', async () => {
    const fake = new FakeSend().on('StartExecutionCommand', () => {
      throw sfnError(ExecutionAlreadyExists);
    });
    await expect(executions(fake).start('import', 'import-1', {})).rejects.toBeInstanceOf(ExecutionAlreadyStarted);
  });

  it('describes an execution with its input and output parsed', async () => {
    const startDate = new Date('2024-06-01T12:00:00Z');
    const fake = new FakeSend().on('DescribeExecutionCommand', () => ({
      executionArn: 'arn:exec',
      status: 'SUCCEEDED',
      input: '{"exportId":"e"}',
      output: '{"rowCount":3}',
      startDate,
      stopDate: startDate,
    }));
    expect(await executions(fake).describe('arn:exec')).toEqual({
      executionArn: 'arn:exec',
      status: 'SUCCEEDED',
      input: { exportId: 'e' },
      output: { rowCount: 3 },
      startDate,
      stopDate: startDate,
    });
  });

  it('describes a failed execution with its error and cause', async () => {
    const fake = new FakeSend().on('DescribeExecutionCommand', () => ({
      executionArn: 'arn:exec',
      status: 'FAILED',
      input: '{}',
      error: 'ExportFailed',
      cause: 'told',
      startDate: new Date(),
    }));
    expect(await executions(fake).describe('arn:exec')).toMatchObject({ status: 'FAILED', error: 'ExportFailed', cause: 'told' });
  });

  it('answers undefined for an execution that does not exist or an ARN that is not one', async () => {
    const missing = new FakeSend().on('DescribeExecutionCommand', () => {
      throw sfnError(ExecutionDoesNotExist);
    });
    expect(await executions(missing).describe('arn:nope')).toBeUndefined();
    const malformed = new FakeSend().on('DescribeExecutionCommand', () => {
      throw sfnError(InvalidArn);
    });
    expect(await executions(malformed).describe('not an arn')).toBeUndefined();
  });

  it('resumes a task with its output as JSON', async () => {
    const fake = new FakeSend().on('SendTaskSuccessCommand', () => ({}));
    await executions(fake).sendTaskSuccess('token', { connectionId: 'c' });
    expect(fake.sent[0]?.input).toEqual({ taskToken: 'token', output: '{"connectionId":"c"}' });
  });

  it('reports a spent task token as NotFound', async () => {
    const fake = new FakeSend()
      .on('SendTaskSuccessCommand', () => {
        throw sfnError(TaskTimedOut);
      })
      .on('SendTaskFailureCommand', () => {
        throw awsError('TaskDoesNotExist', 400);
      });
    await expect(executions(fake).sendTaskSuccess('token', {})).rejects.toBeInstanceOf(NotFound);
    await expect(executions(fake).sendTaskFailure('token', 'E', 'C')).rejects.toBeInstanceOf(NotFound);
  });

  it('turns throttling into Transient', async () => {
    const fake = new FakeSend().on('StartExecutionCommand', () => {
      throw awsError('ThrottlingException', 400);
    });
    await expect(executions(fake).start('export', 'n', {})).rejects.toBeInstanceOf(Transient);
  });
});

describe('which AWS errors are transient', () => {
  it.each([
    [awsError('ThrottlingException', 400), true],
    [awsError('ProvisionedThroughputExceededException', 400), true],
    [awsError('Whatever', 503), true],
    [awsError('Whatever', 429), true],
    [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), true],
    [awsError('ValidationException', 400), false],
    [awsError('AccessDeniedException', 403), false],
    [new Error('plain'), false],
    // The SDK's classifiers: names the old hand-kept list missed.
    [awsError('TransactionInProgressException', 400), true],
    [awsError('BandwidthLimitExceeded', 400), true],
    [awsError('PriorRequestNotComplete', 400), true],
    [Object.assign(awsError('Whatever', 400), { $retryable: { throttling: true } }), true],
    [Object.assign(new Error('stream refused: NGHTTP2_REFUSED_STREAM'), { code: 'ERR_HTTP2_STREAM_ERROR' }), true],
    [awsError('Whatever', 502), true],
    [awsError('RequestTimeout', 400), true],
    [Object.assign(new Error('lookup'), { code: 'EAI_AGAIN' }), true],
    // Ferry's additions on top of the SDK's lists.
    [awsError('TransactionConflictException', 400), true],
    [awsError('InternalFailure', 400), true],
    [Object.assign(new Error('aborted'), { code: 'ECONNABORTED' }), true],
    // Cancelled by us: never retried, whatever else it says.
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), false],
    [awsError('ConditionalCheckFailedException', 400), false],
  ])('%s → %s', (error, transient) => {
    expect(isTransientAwsError(error)).toBe(transient);
  });
});
