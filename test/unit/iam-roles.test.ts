import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluate, type Decision } from '../../infra/local/iam/evaluate';
import { iamRequestsFor, type IamScope, type SdkService } from '../../infra/local/iam/requests';
import { lambdaInvokeRequest, resolveIntrinsics, resolveRoles, stateMachineRole, type LocalResolution, type ResolvedRole } from '../../infra/local/iam/roles';
import { parseInfraYaml } from '../../infra/local/infra-yaml';

/**
 * serverless.yml's roles as the local stack enforces them. The YAML is copied from serverless.yml's
 * resources with the serverless variables resolved as `serverless package` resolves them (stage
 * `local`), short-form intrinsics and anchors as written there.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROLES_YAML = `
Resources:
  LambdaBaseManagedPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: [logs:CreateLogStream, logs:PutLogEvents]
            Resource: !Sub arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/ferry-local-*:*
          - Effect: Allow
            Action: [xray:PutTraceSegments, xray:PutTelemetryRecords]
            Resource: '*'
  SearchRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: &lambdaTrust
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: { Service: lambda.amazonaws.com }
            Action: sts:AssumeRole
      ManagedPolicyArns: &lambdaBase
        - !Ref LambdaBaseManagedPolicy
      Policies:
        - PolicyName: search-posts
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [es:ESHttpGet, es:ESHttpPost]
                Resource: !Sub
                  - \${DomainArn}/posts/*
                  - DomainArn: !ImportValue ferry-local-SearchDomainArn
  GetDownloadRequestRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: *lambdaTrust
      ManagedPolicyArns: *lambdaBase
      Policies:
        - PolicyName: read-export-status-and-presign
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: states:DescribeExecution
                Resource: !Sub arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:ferry-export-local:*
              - &presignExports
                Effect: Allow
                Action: s3:GetObject
                Resource: !Sub \${ExportsBucket.Arn}/exports/*
              - &decryptExports
                Effect: Allow
                Action: kms:Decrypt
                Resource: !GetAtt ExportsKey.Arn
              - Effect: Allow
                Action: dynamodb:GetItem
                Resource: !GetAtt ConnectionsTable.Arn
                Condition:
                  ForAllValues:StringLike:
                    dynamodb:LeadingKeys: ['PROGRESS#*']
  WsConnectRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: *lambdaTrust
      ManagedPolicyArns: *lambdaBase
      Policies:
        - PolicyName: join-connection-to-export
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - &rendezvous
                Effect: Allow
                Action: [dynamodb:GetItem, dynamodb:UpdateItem, dynamodb:DeleteItem]
                Resource: !GetAtt ConnectionsTable.Arn
              - Effect: Allow
                Action: states:DescribeExecution
                Resource: !Sub arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:ferry-export-local:*
              - &resolveWait
                Effect: Allow
                Action: [states:SendTaskSuccess, states:SendTaskFailure]
                Resource: !Sub arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:ferry-export-local
  PushLinkToBrowserRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: *lambdaTrust
      ManagedPolicyArns: *lambdaBase
      Policies:
        - PolicyName: push-export-link
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - &manageConnections
                Effect: Allow
                Action: execute-api:ManageConnections
                Resource: !Sub arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${WebsocketsApi}/local/POST/@connections/*
              - *presignExports
              - *decryptExports
  ScanForVirusesRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: *lambdaTrust
      ManagedPolicyArns:
        - !Ref LambdaBaseManagedPolicy
        - !Sub arn:\${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaENIManagementAccess
      Policies:
        - PolicyName: stream-upload-to-clamd
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [dynamodb:GetItem, dynamodb:UpdateItem]
                Resource: !GetAtt ImportsTable.Arn
`;

const ACCOUNT = '000000000000';
const table = (name: string) => ({ name, arn: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${name}` });
const fn = (key: string) => ({ name: `ferry-local-${key}`, arn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:ferry-local-${key}` });
const FUNCTION_KEYS = ['recordExportRequest', 'generateCsvReport', 'planExportSlices', 'writeExportSlice', 'assembleExportFile', 'emailLinkToUser', 'waitForBrowserConnection', 'pushLinkToBrowser', 'recordExportSuccess', 'handleExportFailure', 'createDownloadRequest'];
const IMPORT_FUNCTION_KEYS = [
  'scanForViruses',
  'computeChecksum',
  'identifyFormat',
  'quarantineFile',
  'rejectFile',
  'awaitImportMapping',
  'expireImport',
  'acquireImportSlot',
  'releaseImportSlot',
  'processImport',
  'planImportChunks',
  'importChunk',
  'commitImportChunks',
  'keepResource',
  'handleImportFailure',
  'notifyImportOutcome',
];

const local: LocalResolution = {
  partition: 'aws',
  region: 'us-east-1',
  account: ACCOUNT,
  physical: {
    LambdaBaseManagedPolicy: { name: `arn:aws:iam::${ACCOUNT}:policy/ferry-local-base` },
    ExportsBucket: { name: 'ferry-exports', arn: 'arn:aws:s3:::ferry-exports' },
    ExportsKey: { name: 'exports-key', arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/exports-key` },
    ConnectionsTable: table('ferry-connections'),
    ImportsTable: table('ferry-imports'),
    WebsocketsApi: { name: 'local-ws' },
    ...Object.fromEntries([...FUNCTION_KEYS, ...IMPORT_FUNCTION_KEYS].map((key) => [key, fn(key)])),
  },
  imports: { 'ferry-local-SearchDomainArn': `arn:aws:es:us-east-1:${ACCOUNT}:domain/ferry-local` },
};

const scope: IamScope = {
  partition: 'aws',
  region: 'us-east-1',
  account: ACCOUNT,
  tables: { 'ferry-connections': { partitionKey: 'pk' }, 'ferry-imports': { partitionKey: 'pk', indexes: { byBatch: 'batchPk' } } },
  bucketKeys: { 'ferry-exports': `arn:aws:kms:us-east-1:${ACCOUNT}:key/exports-key` },
  webSocketApi: { apiId: 'local-ws', stage: 'local' },
};

const resources = (parseInfraYaml(ROLES_YAML) as { Resources: Record<string, unknown> }).Resources;
const roles = resolveRoles(resources, local);
const role = (id: string): ResolvedRole => {
  const found = roles[id];
  if (!found) throw new Error(`no role ${id}`);
  return found;
};

/** The decision for every IAM request of one command; all must be Allow for the call to pass. */
const decisions = (roleId: string, service: SdkService, command: string, input: Record<string, unknown>): Decision[] =>
  iamRequestsFor(scope, service, command, input).map((request) => evaluate(role(roleId).policies, request).decision);

describe('serverless.yml roles, resolved to local ARNs', () => {
  it('finds every AWS::IAM::Role and none of the other resources', () => {
    expect(Object.keys(roles).sort()).toEqual(['GetDownloadRequestRole', 'PushLinkToBrowserRole', 'ScanForVirusesRole', 'SearchRole', 'WsConnectRole']);
  });

  it('resolves Fn::Sub with resource attributes and Fn::GetAtt to the local ARNs', () => {
    const statements = role('GetDownloadRequestRole').policies[1]?.Statement;
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::ferry-exports/exports/*' });
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/exports-key` });
  });

  it('the export status route may read PROGRESS# items but not CONNECTION# ones (dynamodb:LeadingKeys)', () => {
    expect(decisions('GetDownloadRequestRole', 'DynamoDB', 'GetItem', { TableName: 'ferry-connections', Key: { pk: 'PROGRESS#e-1', sk: 'PROGRESS' } })).toEqual(['Allow']);
    expect(decisions('GetDownloadRequestRole', 'DynamoDB', 'GetItem', { TableName: 'ferry-connections', Key: { pk: 'CONNECTION#c-1', sk: 'CONNECTION' } })).toEqual(['ImplicitDeny']);
  });

  it('the WebSocket connect role is denied the imports table (review finding: import push never connects)', () => {
    expect(decisions('WsConnectRole', 'DynamoDB', 'GetItem', { TableName: 'ferry-imports', Key: { pk: 'IMPORT#i-1' } })).toEqual(['ImplicitDeny']);
    expect(
      decisions('WsConnectRole', 'DynamoDB', 'Query', { TableName: 'ferry-imports', IndexName: 'byBatch', KeyConditionExpression: 'batchPk = :b', ExpressionAttributeValues: { ':b': 'BATCH#b' } }),
    ).toEqual(['ImplicitDeny']);
    expect(decisions('WsConnectRole', 'DynamoDB', 'GetItem', { TableName: 'ferry-connections', Key: { pk: 'EXECUTION#e', sk: 'RENDEZVOUS' } })).toEqual(['Allow']);
  });

  it('the push task is denied the connections table it reads (review finding: push exports fail on AWS)', () => {
    expect(decisions('PushLinkToBrowserRole', 'DynamoDB', 'GetItem', { TableName: 'ferry-connections', Key: { pk: 'EXECUTION#e', sk: 'RENDEZVOUS' } })).toEqual(['ImplicitDeny']);
    expect(decisions('PushLinkToBrowserRole', 'ApiGatewayManagementApi', 'PostToConnection', { ConnectionId: 'c-1' })).toEqual(['Allow']);
  });

  it('task-token calls scoped to the machine ARN grant nothing: SendTaskSuccess takes no resource, so only "*" allows it', () => {
    expect(decisions('WsConnectRole', 'SFN', 'SendTaskSuccess', { taskToken: 't', output: '{}' })).toEqual(['ImplicitDeny']);
  });

  it('attaches the managed policies: the template one by Ref and the AWS one by ARN', () => {
    const logs = { action: 'logs:PutLogEvents', resource: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/lambda/ferry-local-search:log-stream:x`, context: {} };
    expect(evaluate(role('SearchRole').policies, logs).decision).toBe('Allow');
    expect(evaluate(role('ScanForVirusesRole').policies, { action: 'ec2:CreateNetworkInterface', resource: '*', context: {} }).decision).toBe('Allow');
    expect(evaluate(role('SearchRole').policies, { action: 'ec2:CreateNetworkInterface', resource: '*', context: {} }).decision).toBe('ImplicitDeny');
  });

  it('resolves the two-argument Fn::Sub over an Fn::ImportValue', () => {
    const domain = `arn:aws:es:us-east-1:${ACCOUNT}:domain/ferry-local`;
    expect(evaluate(role('SearchRole').policies, { action: 'es:ESHttpPost', resource: `${domain}/posts/_search`, context: {} }).decision).toBe('Allow');
    expect(evaluate(role('SearchRole').policies, { action: 'es:ESHttpDelete', resource: `${domain}/posts/_search`, context: {} }).decision).toBe('ImplicitDeny');
  });

  it('resolves pseudo parameters, Ref, literal ${!…} and Fn::Join, and refuses what it cannot resolve', () => {
    expect(resolveIntrinsics({ 'Fn::Sub': '${AWS::Partition}:${AWS::Region}:${AWS::AccountId}:${ConnectionsTable}:${!Literal}' }, local)).toBe(`aws:us-east-1:${ACCOUNT}:ferry-connections:\${Literal}`);
    expect(resolveIntrinsics({ 'Fn::Join': ['/', [{ Ref: 'ExportsBucket' }, 'x']] }, local)).toBe('ferry-exports/x');
    expect(() => resolveIntrinsics({ Ref: 'Nowhere' }, local)).toThrow(/no local resource for logical id Nowhere/);
    expect(() => resolveIntrinsics({ 'Fn::ImportValue': 'missing' }, local)).toThrow(/no local value for the export missing/);
    expect(() => resolveIntrinsics({ 'Fn::GetAtt': ['WebsocketsApi', 'Arn'] }, local)).toThrow(/WebsocketsApi has no local Arn/);
    expect(() => resolveIntrinsics({ 'Fn::Select': [0, ['a']] }, local)).toThrow(/unsupported intrinsic Fn::Select/);
  });
});

describe('the state machines’ generated roles', () => {
  const definition = (file: string) => parseInfraYaml(readFileSync(join(root, 'statemachines', file), 'utf8'));
  const invokes = (machine: ResolvedRole, key: string) => evaluate(machine.policies, lambdaInvokeRequest(fn(key).arn)).decision;

  it('the export machine may invoke exactly the functions its Tasks name, waitForTaskToken ones included', () => {
    // The callback task's Resource is a !Sub the plugin does not read: serverless.yml grants its function.
    const callback = { 'Fn::GetAtt': ['waitForBrowserConnection', 'Arn'] };
    const iamRoleStatements = [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [callback, { 'Fn::Sub': ['${Arn}:*', { Arn: callback }] }] }];
    const generated = stateMachineRole({ name: 'ferry-export-local', definition: definition('export.asl.yaml') }, local);
    expect(invokes(generated, 'waitForBrowserConnection')).toBe('ImplicitDeny');
    const machine = stateMachineRole({ name: 'ferry-export-local', definition: definition('export.asl.yaml'), iamRoleStatements }, local);
    for (const key of FUNCTION_KEYS.filter((k) => k !== 'createDownloadRequest')) expect(invokes(machine, key), key).toBe('Allow');
    expect(invokes(machine, 'createDownloadRequest')).toBe('ImplicitDeny');
    expect(evaluate(machine.policies, lambdaInvokeRequest(`${fn('generateCsvReport').arn}:live`)).decision).toBe('Allow');
  });

  it('the import machine (a Distributed Map) may start its own children and, with iamRoleStatements, redrive them', () => {
    const mappingCallback = { 'Fn::GetAtt': ['awaitImportMapping', 'Arn'] };
    const generated = stateMachineRole({ name: 'ferry-import-local', definition: definition('import.asl.yaml') }, local);
    expect(invokes(generated, 'awaitImportMapping')).toBe('ImplicitDeny');
    const machine = stateMachineRole(
      {
        name: 'ferry-import-local',
        definition: definition('import.asl.yaml'),
        iamRoleStatements: [
          {
            Effect: 'Allow',
            Action: ['states:DescribeExecution', 'states:StopExecution', 'states:RedriveExecution'],
            Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:ferry-import-local/*' }],
          },
          // "Wait for column mapping" is a callback task (Fn::Sub resource): serverless.yml grants its invoke.
          {
            Effect: 'Allow',
            Action: 'lambda:InvokeFunction',
            Resource: [mappingCallback, { 'Fn::Sub': ['${Arn}:*', { Arn: mappingCallback }] }],
          },
        ],
      },
      local,
    );
    for (const key of IMPORT_FUNCTION_KEYS) expect(invokes(machine, key), key).toBe('Allow');
    const sfn = (action: string, resource: string) => evaluate(machine.policies, { action, resource, context: {} }).decision;
    expect(sfn('states:StartExecution', `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:ferry-import-local`)).toBe('Allow');
    expect(sfn('states:StartExecution', `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:ferry-export-local`)).toBe('ImplicitDeny');
    expect(sfn('states:RedriveExecution', `arn:aws:states:us-east-1:${ACCOUNT}:execution:ferry-import-local/map-1:child-1`)).toBe('Allow');
    expect(sfn('states:RedriveExecution', `arn:aws:states:us-east-1:${ACCOUNT}:execution:ferry-import-local:e-1`)).toBe('ImplicitDeny');
  });

  it('a machine with no Task is denied everything, as the plugin generates it', () => {
    const machine = stateMachineRole({ name: 'empty', definition: { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } } }, local);
    expect(evaluate(machine.policies, lambdaInvokeRequest(fn('generateCsvReport').arn)).decision).toBe('ExplicitDeny');
  });
});
