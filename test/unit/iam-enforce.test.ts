import { setTimeout as sleep } from 'node:timers/promises';
import { ApiGatewayManagementApiClient, ForbiddenException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { AccessDenied, GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { SendEmailCommand, SESv2Client, SESv2ServiceException } from '@aws-sdk/client-sesv2';
import { SendTaskSuccessCommand, SFNClient, SFNServiceException, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { authorizeAs, iamEnforcement, runAs, signerOf, type DecisionRecord, type LocalRole } from '../../infra/local/iam/enforce';
import type { PolicyStatement } from '../../infra/local/iam/evaluate';
import { iamRequestsFor, presignedS3Requests, type IamScope } from '../../infra/local/iam/requests';

/**
 * Real SDK clients pointed at a dead endpoint: a refused call fails in the middleware with AWS's error
 * before any network I/O; an allowed one goes on and fails on the network, which proves it passed.
 */

const DEAD = 'http://127.0.0.1:9';
const scope: IamScope = {
  partition: 'aws',
  region: 'us-east-1',
  account: '000000000000',
  tables: { 'ferry-connections': { partitionKey: 'pk' } },
  bucketKeys: { 'ferry-exports': 'arn:aws:kms:us-east-1:000000000000:key/exports' },
  webSocketApi: { apiId: 'local-ws', stage: 'local' },
};
const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-export-local';

function clients(options: { onDecision?: (record: DecisionRecord) => void; mode?: 'enforce' | 'record' } = {}) {
  const config = { region: 'us-east-1', endpoint: DEAD, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 };
  const enforcement = { resolveRequests: iamRequestsFor.bind(null, scope), ...options };
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const dynamo = new DynamoDBClient(config);
  const sfn = new SFNClient(config);
  const management = new ApiGatewayManagementApiClient(config);
  const ses = new SESv2Client(config);
  s3.middlewareStack.use(iamEnforcement(enforcement));
  dynamo.middlewareStack.use(iamEnforcement(enforcement));
  sfn.middlewareStack.use(iamEnforcement(enforcement));
  management.middlewareStack.use(iamEnforcement(enforcement));
  ses.middlewareStack.use(iamEnforcement(enforcement));
  return { s3, documents: DynamoDBDocumentClient.from(dynamo), sfn, management, ses };
}

const role = (name: string, ...Statement: PolicyStatement[]): LocalRole => ({ name, session: 'ferry-local-fn', policies: [{ Version: '2012-10-17', Statement }] });

/** An allowed call reaches the (dead) network: it fails, but not with a refusal. */
async function reachesNetwork(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );
  expect(error?.name).not.toMatch(/AccessDenied|Forbidden/);
  expect(`${error?.code ?? ''} ${error?.message ?? ''}`).toMatch(/ECONNREFUSED/);
}

const GET_EXPORT = { Bucket: 'ferry-exports', Key: 'exports/a.csv' };
const readExports = role(
  'GetDownloadRequestRole',
  { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::ferry-exports/exports/*' },
  { Effect: 'Allow', Action: 'kms:Decrypt', Resource: 'arn:aws:kms:us-east-1:000000000000:key/exports' },
);

describe('IAM enforcement in the SDK middleware', () => {
  it('refuses an S3 call the role does not allow with AccessDenied, as S3 words it', async () => {
    const { s3 } = clients();
    const error = await runAs(readExports, () => s3.send(new PutObjectCommand({ ...GET_EXPORT, Body: 'x' }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDenied);
    expect(error).toBeInstanceOf(S3ServiceException);
    expect(error).toMatchObject({
      name: 'AccessDenied',
      Code: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message:
        'User: arn:aws:sts::000000000000:assumed-role/GetDownloadRequestRole/ferry-local-fn is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::ferry-exports/exports/a.csv" because no identity-based policy allows the s3:PutObject action',
    });
  });

  it('lets an allowed S3 call through to the network', async () => {
    const { s3 } = clients();
    await reachesNetwork(runAs(readExports, () => s3.send(new GetObjectCommand(GET_EXPORT))));
  });

  it('refuses a read of an SSE-KMS object without kms:Decrypt on its key (S3 answers AccessDenied for KMS too)', async () => {
    const { s3 } = clients();
    const noKey = role('NoKeyRole', { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });
    const error = await runAs(noKey, () => s3.send(new GetObjectCommand(GET_EXPORT))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDenied);
    expect((error as Error).message).toMatch(/not authorized to perform: kms:Decrypt on resource: "arn:aws:kms:us-east-1:000000000000:key\/exports"/);
  });

  it('words an explicit Deny as AWS does', async () => {
    const { s3 } = clients();
    const denied = role('DeniedRole', { Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: 's3:GetObject', Resource: '*' });
    const error = await runAs(denied, () => s3.send(new GetObjectCommand(GET_EXPORT))).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/s3:GetObject on resource: ".*" with an explicit deny in an identity-based policy$/);
  });

  it('applies dynamodb:LeadingKeys conditions to the document client: PROGRESS# items only', async () => {
    const { documents } = clients();
    const progressOnly = role('GetDownloadRequestRole', {
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/ferry-connections',
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PROGRESS#*'] } },
    });
    await reachesNetwork(runAs(progressOnly, () => documents.send(new GetCommand({ TableName: 'ferry-connections', Key: { pk: 'PROGRESS#e', sk: 'PROGRESS' } }))));
    const error = await runAs(progressOnly, () => documents.send(new GetCommand({ TableName: 'ferry-connections', Key: { pk: 'CONNECTION#c', sk: 'CONNECTION' } }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamoDBServiceException);
    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message:
        'User: arn:aws:sts::000000000000:assumed-role/GetDownloadRequestRole/ferry-local-fn is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/ferry-connections because no identity-based policy allows the dynamodb:GetItem action',
    });
  });

  it('refuses Step Functions calls with AccessDeniedException; a task-token call scoped to a machine ARN is refused', async () => {
    const { sfn } = clients();
    const start = role('CreateDownloadRequestRole', { Effect: 'Allow', Action: ['states:StartExecution', 'states:SendTaskSuccess'], Resource: MACHINE });
    await reachesNetwork(runAs(start, () => sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE }))));
    const error = await runAs(start, () => sfn.send(new SendTaskSuccessCommand({ taskToken: 't', output: '{}' }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SFNServiceException);
    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message: 'User: arn:aws:sts::000000000000:assumed-role/CreateDownloadRequestRole/ferry-local-fn is not authorized to perform: states:SendTaskSuccess because no identity-based policy allows the states:SendTaskSuccess action',
    });
  });

  it('refuses the management API with ForbiddenException and SES with AccessDeniedException', async () => {
    const { management, ses } = clients();
    const nothing = role('PushLinkToBrowserRole');
    const push = await runAs(nothing, () => management.send(new PostToConnectionCommand({ ConnectionId: 'c-1', Data: new Uint8Array([1]) }))).catch((e: unknown) => e);
    expect(push).toBeInstanceOf(ForbiddenException);
    expect(push).toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect((push as Error).message).toMatch(/execute-api:ManageConnections on resource: arn:aws:execute-api:us-east-1:000000000000:local-ws\/local\/POST\/@connections\/c-1 /);
    const mail = await runAs(nothing, () =>
      ses.send(new SendEmailCommand({ FromEmailAddress: 'no-reply@ferry.local', Destination: { ToAddresses: ['a@ferry.local'] }, Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } } })),
    ).catch((e: unknown) => e);
    expect(mail).toBeInstanceOf(SESv2ServiceException);
    expect(mail).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
  });

  it('lets calls outside any role pass: the local stack plumbing and tests', async () => {
    const { s3, sfn } = clients();
    await reachesNetwork(s3.send(new PutObjectCommand({ ...GET_EXPORT, Body: 'x' })));
    await reachesNetwork(sfn.send(new SendTaskSuccessCommand({ taskToken: 't', output: '{}' })));
  });

  it('keeps the role across awaits and timers inside the invocation, and drops it after', async () => {
    const { s3 } = clients();
    const refused = runAs(role('EmptyRole'), async () => {
      await sleep(5);
      return new Promise((resolve, reject) => setImmediate(() => s3.send(new GetObjectCommand(GET_EXPORT)).then(resolve, reject)));
    });
    await expect(refused).rejects.toBeInstanceOf(AccessDenied);
    await reachesNetwork(s3.send(new GetObjectCommand(GET_EXPORT)));
  });

  it('does not authorise a presigned URL when it is signed, but as its signer when it is used', async () => {
    const { s3 } = clients();
    const signer = role('PushLinkToBrowserRole');
    const url = await runAs(signer, () => getSignedUrl(s3, new GetObjectCommand(GET_EXPORT), { expiresIn: 60 }));
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:9\/ferry-exports\/exports\/a\.csv\?.*X-Amz-Signature=/);
    // The local S3 finds the signer from the URL it receives.
    const signature = new URL(url).searchParams.get('X-Amz-Signature') ?? '';
    expect(signerOf(signature)).toBe(signer);
    expect(signerOf('0'.repeat(64))).toBeUndefined();
    const unbound = await getSignedUrl(s3, new GetObjectCommand({ ...GET_EXPORT, Key: 'exports/b.csv' }), { expiresIn: 60 });
    expect(signerOf(new URL(unbound).searchParams.get('X-Amz-Signature') ?? '')).toBeUndefined();
    const use = presignedS3Requests(scope, { method: 'GET', bucket: 'ferry-exports', key: 'exports/a.csv' });
    expect(() => authorizeAs(signer, 'S3', use)).toThrow(AccessDenied);
    expect(() => authorizeAs(readExports, 'S3', use)).not.toThrow();
  });

  it('records (role, action, resource, decision) for every request, and in record mode lets refused calls pass', async () => {
    const records: DecisionRecord[] = [];
    const { s3 } = clients({ onDecision: (record) => records.push(record), mode: 'record' });
    await reachesNetwork(runAs(readExports, () => s3.send(new GetObjectCommand(GET_EXPORT))));
    await reachesNetwork(runAs(readExports, () => s3.send(new PutObjectCommand({ ...GET_EXPORT, Body: 'x' }))));
    expect(records.map(({ role: r, command, action, resource, decision }) => [r, command, action, resource, decision])).toEqual([
      ['GetDownloadRequestRole', 'GetObjectCommand', 's3:GetObject', 'arn:aws:s3:::ferry-exports/exports/a.csv', 'Allow'],
      ['GetDownloadRequestRole', 'GetObjectCommand', 'kms:Decrypt', 'arn:aws:kms:us-east-1:000000000000:key/exports', 'Allow'],
      ['GetDownloadRequestRole', 'PutObjectCommand', 's3:PutObject', 'arn:aws:s3:::ferry-exports/exports/a.csv', 'ImplicitDeny'],
      ['GetDownloadRequestRole', 'PutObjectCommand', 'kms:GenerateDataKey', 'arn:aws:kms:us-east-1:000000000000:key/exports', 'ImplicitDeny'],
    ]);
  });
});
