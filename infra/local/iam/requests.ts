/**
 * What AWS authorises for each SDK v3 command Ferry's adapters send: the IAM action(s), the resource
 * ARN(s) and the condition context, as the Service Authorization Reference lists them. A command that
 * needs several permissions (CopyObject: read the source, write the target; SSE-KMS: the key too) maps
 * to several requests, and every one of them must be allowed. An unknown command is an error, so a new
 * adapter call cannot slip past the local IAM unmapped.
 */
import type { ConditionContext, IamRequest } from './evaluate';

/** Where the local resources live, and the facts about them a mapping needs. */
export interface IamScope {
  partition: string;
  region: string;
  account: string;
  /** Partition-key attribute of each table, and of each of its indexes (for `dynamodb:LeadingKeys`). */
  tables: Readonly<Record<string, { partitionKey: string; indexes?: Readonly<Record<string, string>> }>>;
  /** Bucket → the KMS key ARN of its default SSE-KMS encryption; a bucket absent here is not KMS-encrypted. */
  bucketKeys?: Readonly<Record<string, string>>;
  /** The WebSocket API the management API (PostToConnection …) manages. */
  webSocketApi?: { apiId: string; stage: string };
  /** SES: the identity a sender address is authorised through (default: its domain), and the identity's default configuration set. */
  ses?: { identityFor?: (address: string) => string; defaultConfigurationSet?: string };
}

/** The SDK client a command was sent through, by its `clientName`. */
export type SdkService = 'S3' | 'DynamoDB' | 'SFN' | 'ApiGatewayManagementApi' | 'SESv2' | 'CognitoIdentityProvider';

export const serviceOfClient = (clientName: string): SdkService | undefined => {
  const name = clientName.replace(/Client$/, '');
  return (['S3', 'DynamoDB', 'SFN', 'ApiGatewayManagementApi', 'SESv2', 'CognitoIdentityProvider'] as const).find((s) => s === name);
};

type Input = Readonly<Record<string, unknown>>;

const text = (value: unknown, field: string): string => {
  if (typeof value !== 'string' || value === '') throw new Error(`IAM mapping: ${field} missing from the command input`);
  return value;
};

// ---- S3 and the KMS calls S3 makes on the caller's behalf --------------------------------------------

export const s3ObjectArn = (scope: IamScope, bucket: string, key: string) => `arn:${scope.partition}:s3:::${bucket}/${key}`;
export const s3BucketArn = (scope: IamScope, bucket: string) => `arn:${scope.partition}:s3:::${bucket}`;

function kms(scope: IamScope, action: 'kms:GenerateDataKey' | 'kms:Decrypt', bucket: string, explicitKey?: unknown): IamRequest[] {
  const key = typeof explicitKey === 'string' && explicitKey !== '' ? keyArn(scope, explicitKey) : scope.bucketKeys?.[bucket];
  if (!key) return [];
  // S3 calls KMS as the caller, so the caller's policy must allow it (kms:ViaService names S3).
  return [{ action, resource: key, context: { 'kms:ViaService': `s3.${scope.region}.amazonaws.com`, 'kms:CallerAccount': scope.account } }];
}

const keyArn = (scope: IamScope, id: string) => (id.startsWith('arn:') ? id : `arn:${scope.partition}:kms:${scope.region}:${scope.account}:key/${id}`);

/** `CopySource` is `bucket/key` (URL-encoded, optionally `?versionId=`), with or without a leading slash. */
export function parseCopySource(copySource: string): { bucket: string; key: string } {
  const [path = ''] = copySource.replace(/^\//, '').split('?');
  const slash = path.indexOf('/');
  if (slash <= 0) throw new Error(`IAM mapping: CopySource ${copySource} is not bucket/key`);
  return { bucket: decodeURIComponent(path.slice(0, slash)), key: decodeURIComponent(path.slice(slash + 1)) };
}

const s3Context = (scope: IamScope): ConditionContext => ({ 'aws:RequestedRegion': scope.region, 'aws:SecureTransport': true });

const S3_COMMANDS = new Set(['GetObject', 'HeadObject', 'PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'UploadPartCopy', 'CopyObject', 'DeleteObject', 'AbortMultipartUpload', 'ListParts', 'ListMultipartUploads']);

function s3Requests(scope: IamScope, command: string, input: Input): IamRequest[] {
  if (!S3_COMMANDS.has(command)) throw new Error(`IAM mapping: no mapping for S3 ${command}`);
  const bucket = text(input.Bucket, 'Bucket');
  // A bucket-level action: the resource is the bucket, not an object.
  if (command === 'ListMultipartUploads') return [{ action: 's3:ListBucketMultipartUploads', resource: `arn:${scope.partition}:s3:::${bucket}`, context: s3Context(scope) }];
  const key = text(input.Key, 'Key');
  const object = (action: string): IamRequest => ({ action, resource: s3ObjectArn(scope, bucket, key), context: s3Context(scope) });
  const source = () => {
    const from = parseCopySource(text(input.CopySource, 'CopySource'));
    return [
      { action: 's3:GetObject', resource: s3ObjectArn(scope, from.bucket, from.key), context: s3Context(scope) },
      ...kms(scope, 'kms:Decrypt', from.bucket),
    ];
  };
  switch (command) {
    case 'GetObject':
      return [object('s3:GetObject'), ...kms(scope, 'kms:Decrypt', bucket)];
    case 'HeadObject':
      // HEAD reads metadata only: no data key is decrypted.
      return [object('s3:GetObject')];
    case 'PutObject':
    case 'CreateMultipartUpload':
      return [object('s3:PutObject'), ...kms(scope, 'kms:GenerateDataKey', bucket, input.SSEKMSKeyId)];
    case 'UploadPart':
      // Each part is encrypted under the upload's data key, which S3 decrypts as the caller.
      return [object('s3:PutObject'), ...kms(scope, 'kms:Decrypt', bucket)];
    case 'CompleteMultipartUpload':
      // "S3 must decrypt and read data from the encrypted file parts before it completes the upload."
      return [object('s3:PutObject'), ...kms(scope, 'kms:Decrypt', bucket)];
    case 'UploadPartCopy':
      return [...source(), object('s3:PutObject'), ...kms(scope, 'kms:Decrypt', bucket)];
    case 'CopyObject':
      return [...source(), object('s3:PutObject'), ...kms(scope, 'kms:GenerateDataKey', bucket, input.SSEKMSKeyId)];
    case 'DeleteObject':
      return [object('s3:DeleteObject')];
    case 'AbortMultipartUpload':
      return [object('s3:AbortMultipartUpload')];
    case 'ListParts':
      return [object('s3:ListMultipartUploadParts')];
    default:
      throw new Error(`IAM mapping: no mapping for S3 ${command}`);
  }
}

/**
 * A presigned URL or POST carries its signer's authority and is authorised when it is used, not when
 * it is signed: the local S3 calls this with the request it receives, then authorises the result
 * against the signer's role (enforce.ts `authorizeAs`).
 */
export function presignedS3Requests(
  scope: IamScope,
  use: { method: 'GET' | 'HEAD' | 'PUT' | 'POST'; bucket: string; key: string; uploadId?: string },
): IamRequest[] {
  const { bucket, key } = use;
  if (use.method === 'GET') return s3Requests(scope, 'GetObject', { Bucket: bucket, Key: key });
  if (use.method === 'HEAD') return s3Requests(scope, 'HeadObject', { Bucket: bucket, Key: key });
  if (use.method === 'PUT' && use.uploadId) return s3Requests(scope, 'UploadPart', { Bucket: bucket, Key: key });
  return s3Requests(scope, 'PutObject', { Bucket: bucket, Key: key });
}

// ---- DynamoDB -------------------------------------------------------------------------------------

type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };
const ATTRIBUTE_VALUE_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);

/** A key value as IAM sees it: the SDK may hand us a marshalled AttributeValue (`{ S: 'x' }`) or a plain value. */
function scalar(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && ATTRIBUTE_VALUE_TYPES.has(keys[0]!)) {
      const inner = (value as Record<string, Plain>)[keys[0]!];
      return typeof inner === 'string' || typeof inner === 'number' ? String(inner) : undefined;
    }
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return undefined;
}

const tableArn = (scope: IamScope, table: string) => `arn:${scope.partition}:dynamodb:${scope.region}:${scope.account}:table/${table}`;

function partitionKeyOf(scope: IamScope, table: string, index?: string): string {
  const schema = scope.tables[table];
  if (!schema) throw new Error(`IAM mapping: no key schema for table ${table}`);
  if (index === undefined) return schema.partitionKey;
  const key = schema.indexes?.[index];
  if (!key) throw new Error(`IAM mapping: no key schema for index ${table}/${index}`);
  return key;
}

/** The partition-key value a Query's key condition fixes (`pk = :v` or `#n = :v`). */
function queriedPartitionKey(input: Input, attribute: string): string | undefined {
  const expression = typeof input.KeyConditionExpression === 'string' ? input.KeyConditionExpression : '';
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  const resolve = (token: string) => (token.startsWith('#') ? names[token] : token);
  for (const match of expression.matchAll(/([#\w.]+)\s*=\s*([#:\w.]+)/g)) {
    const [, left = '', right = ''] = match;
    const [name, placeholder] = left.startsWith(':') ? [right, left] : [left, right];
    if (resolve(name) === attribute && placeholder.startsWith(':')) return scalar(values[placeholder]);
  }
  return undefined;
}

/** Attribute names a projection names (`#a, b.c` → the top-level names), for `dynamodb:Attributes`. */
function projected(input: Input): string[] | undefined {
  if (typeof input.ProjectionExpression !== 'string') return undefined;
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  return input.ProjectionExpression.split(',').map((part) => {
    const top = part.trim().split(/[.[]/)[0] ?? '';
    return top.startsWith('#') ? (names[top] ?? top) : top;
  });
}

function dynamoContext(leadingKeys: (string | undefined)[], input: Input, attributes?: string[]): ConditionContext {
  const keys = leadingKeys.filter((k): k is string => k !== undefined);
  return {
    'dynamodb:LeadingKeys': keys,
    ...(attributes ? { 'dynamodb:Attributes': attributes } : {}),
    ...(typeof input.ReturnValues === 'string' ? { 'dynamodb:ReturnValues': input.ReturnValues } : {}),
    ...(typeof input.Select === 'string' ? { 'dynamodb:Select': input.Select } : {}),
    ...(typeof input.ReturnConsumedCapacity === 'string' ? { 'dynamodb:ReturnConsumedCapacity': input.ReturnConsumedCapacity } : {}),
  };
}

function dynamoRequests(scope: IamScope, command: string, input: Input): IamRequest[] {
  if (command === 'BatchWriteItem') {
    const items = (input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item?: Input }; DeleteRequest?: { Key?: Input } }[]>;
    // Authorised per table, with every partition key the batch writes in that table.
    return Object.entries(items).map(([table, writes]) => {
      const pk = partitionKeyOf(scope, table);
      const leading = writes.map((w) => scalar((w.PutRequest?.Item ?? w.DeleteRequest?.Key ?? {})[pk]));
      return { action: 'dynamodb:BatchWriteItem', resource: tableArn(scope, table), context: dynamoContext(leading, input) };
    });
  }
  const table = text(input.TableName, 'TableName');
  const item = (action: string, record: unknown, attributes?: string[]): IamRequest[] => {
    const pk = partitionKeyOf(scope, table);
    return [{ action, resource: tableArn(scope, table), context: dynamoContext([scalar((record as Input | undefined)?.[pk])], input, attributes) }];
  };
  switch (command) {
    case 'GetItem':
      return item('dynamodb:GetItem', input.Key, projected(input));
    case 'PutItem':
      return item('dynamodb:PutItem', input.Item, Object.keys((input.Item ?? {}) as Input));
    case 'UpdateItem':
      return item('dynamodb:UpdateItem', input.Key);
    case 'DeleteItem':
      return item('dynamodb:DeleteItem', input.Key);
    case 'Query': {
      const index = typeof input.IndexName === 'string' ? input.IndexName : undefined;
      // The leading key of a Query is the partition key of what it queries (the index's, on an index).
      const leading = queriedPartitionKey(input, partitionKeyOf(scope, table, index));
      const resource = index ? `${tableArn(scope, table)}/index/${index}` : tableArn(scope, table);
      return [{ action: 'dynamodb:Query', resource, context: dynamoContext([leading], input, projected(input)) }];
    }
    default:
      throw new Error(`IAM mapping: no mapping for DynamoDB ${command}`);
  }
}

// ---- Step Functions -------------------------------------------------------------------------------

/** Step Functions ARNs by resource type; a map run's child executions are `<machine>/<label>:<id>`. */
const SFN_ARN: Readonly<Record<'stateMachine' | 'execution' | 'mapRun', RegExp>> = {
  stateMachine: /^arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:/]+$/,
  execution: /^arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:execution:[^:/]+(\/[^:/]+)?:[^:/]+$/,
  mapRun: /^arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:mapRun:[^:/]+\/[^:/]+:[^:/]+$/,
};

function sfnRequests(command: string, input: Input): IamRequest[] {
  const on = (action: string, resource: string): IamRequest[] => [{ action: `states:${action}`, resource, context: {} }];
  // Step Functions answers a malformed ARN with InvalidArn before it authorises anything: nothing to authorise.
  const onArn = (action: string, arn: string, type: keyof typeof SFN_ARN): IamRequest[] => (SFN_ARN[type].test(arn) ? on(action, arn) : []);
  switch (command) {
    case 'StartExecution':
      return onArn(command, text(input.stateMachineArn, 'stateMachineArn'), 'stateMachine');
    case 'DescribeExecution':
    case 'StopExecution':
    case 'RedriveExecution':
      return onArn(command, text(input.executionArn, 'executionArn'), 'execution');
    case 'ListExecutions':
      return typeof input.mapRunArn === 'string'
        ? onArn(command, input.mapRunArn, 'mapRun')
        : onArn(command, text(input.stateMachineArn, 'stateMachineArn'), 'stateMachine');
    case 'SendTaskSuccess':
    case 'SendTaskFailure':
    case 'SendTaskHeartbeat':
      // No resource-level permissions (iam-data: no resource types): only Resource "*" grants them.
      return on(command, '*');
    default:
      throw new Error(`IAM mapping: no mapping for Step Functions ${command}`);
  }
}

// ---- API Gateway management API ------------------------------------------------------------------

const CONNECTION_METHODS: Readonly<Record<string, string>> = { PostToConnection: 'POST', GetConnection: 'GET', DeleteConnection: 'DELETE' };

function managementRequests(scope: IamScope, command: string, input: Input): IamRequest[] {
  const method = CONNECTION_METHODS[command];
  if (!method) throw new Error(`IAM mapping: no mapping for the API Gateway management API ${command}`);
  if (!scope.webSocketApi) throw new Error('IAM mapping: the scope names no WebSocket API');
  const { apiId, stage } = scope.webSocketApi;
  const id = text(input.ConnectionId, 'ConnectionId');
  const resource = `arn:${scope.partition}:execute-api:${scope.region}:${scope.account}:${apiId}/${stage}/${method}/@connections/${id}`;
  return [{ action: 'execute-api:ManageConnections', resource, context: {} }];
}

// ---- SES v2 ---------------------------------------------------------------------------------------

/** `Name <a@b>` or `a@b` → `a@b`. */
export const bareAddress = (address: string) => (/<([^>]+)>/.exec(address)?.[1] ?? address).trim();

function sesRequests(scope: IamScope, command: string, input: Input): IamRequest[] {
  if (command !== 'SendEmail') throw new Error(`IAM mapping: no mapping for SES ${command}`);
  const fromHeader = text(input.FromEmailAddress, 'FromEmailAddress');
  const from = bareAddress(fromHeader);
  const destination = (input.Destination ?? {}) as Record<string, string[] | undefined>;
  const recipients = [...(destination.ToAddresses ?? []), ...(destination.CcAddresses ?? []), ...(destination.BccAddresses ?? [])].map(bareAddress);
  const display = /^(.*)<[^>]+>/.exec(fromHeader)?.[1]?.trim();
  const context: ConditionContext = {
    'ses:FromAddress': from,
    'ses:Recipients': recipients,
    'ses:ApiVersion': '2',
    ...(display ? { 'ses:FromDisplayName': display } : {}),
  };
  const identity = scope.ses?.identityFor?.(from) ?? from.slice(from.indexOf('@') + 1);
  const base = `arn:${scope.partition}:ses:${scope.region}:${scope.account}`;
  const configurationSet = typeof input.ConfigurationSetName === 'string' ? input.ConfigurationSetName : scope.ses?.defaultConfigurationSet;
  // The sending identity, and the configuration set the message is sent with (SES authorises both).
  return [
    { action: 'ses:SendEmail', resource: `${base}:identity/${identity}`, context },
    ...(configurationSet ? [{ action: 'ses:SendEmail', resource: `${base}:configuration-set/${configurationSet}`, context }] : []),
  ];
}

// ---- Cognito user pools ---------------------------------------------------------------------------

function cognitoRequests(scope: IamScope, command: string, input: Input): IamRequest[] {
  if (command !== 'AdminGetUser') throw new Error(`IAM mapping: no mapping for Cognito ${command}`);
  const pool = text(input.UserPoolId, 'UserPoolId');
  return [{ action: 'cognito-idp:AdminGetUser', resource: `arn:${scope.partition}:cognito-idp:${scope.region}:${scope.account}:userpool/${pool}`, context: {} }];
}

/**
 * The IAM requests AWS authorises for one command. `commandName` is the SDK's (`GetItemCommand`) or
 * the bare operation (`GetItem`); the document client's commands arrive as their low-level operations.
 */
export function iamRequestsFor(scope: IamScope, service: SdkService, commandName: string, input: Input): IamRequest[] {
  const command = commandName.replace(/Command$/, '');
  switch (service) {
    case 'S3':
      return s3Requests(scope, command, input);
    case 'DynamoDB':
      return dynamoRequests(scope, command, input);
    case 'SFN':
      return sfnRequests(command, input);
    case 'ApiGatewayManagementApi':
      return managementRequests(scope, command, input);
    case 'SESv2':
      return sesRequests(scope, command, input);
    case 'CognitoIdentityProvider':
      return cognitoRequests(scope, command, input);
  }
}
