import { describe, expect, it } from 'vitest';
import { evaluate, type Decision } from '../../infra/local/iam/evaluate';
import { repositoryIam } from './repository-iam';
import { iamRequestsFor, type SdkService } from '../../infra/local/iam/requests';
import { lambdaInvokeRequest } from '../../infra/local/iam/roles';

/** The repository's serverless.yml, as the local stack enforces it: these fail on the roles the review found. */
const iam = repositoryIam();

const decisions = (functionKey: string, service: SdkService, command: string, input: Record<string, unknown>): Decision[] => {
  const role = iam.functionRoles[functionKey];
  if (!role) throw new Error(`no role for ${functionKey}`);
  return iamRequestsFor(iam.scope, service, command, input).map((request) => evaluate(role.policies, request).decision);
};

describe("serverless.yml's roles on the local stack's resources", () => {
  it('every function has a role, and the tables are the local ferry-local-<x> ones', () => {
    expect(Object.keys(iam.functionRoles).length).toBeGreaterThan(20);
    expect(Object.keys(iam.scope.tables).sort()).toEqual(['ferry-local-audit', 'ferry-local-connections', 'ferry-local-imports', 'ferry-local-jobs']);
    expect(iam.scope.bucketKeys?.['ferry-exports']).toBe('arn:aws:kms:us-east-1:000000000000:key/ExportsKey');
  });

  it('the push task may read the rendezvous item it pushes to (review finding: push exports failed on AWS)', () => {
    expect(decisions('pushLinkToBrowser', 'DynamoDB', 'GetItem', { TableName: 'ferry-local-connections', Key: { pk: 'EXECUTION#e', sk: 'RENDEZVOUS' } })).toEqual(['Allow']);
  });

  it('$connect may read an import and query its batch (review finding: import push never connected)', () => {
    expect(decisions('wsConnect', 'DynamoDB', 'GetItem', { TableName: 'ferry-local-imports', Key: { pk: 'IMPORT#i-1' } })).toEqual(['Allow']);
    expect(
      decisions('wsConnect', 'DynamoDB', 'Query', { TableName: 'ferry-local-imports', IndexName: 'byBatch', KeyConditionExpression: 'batchPk = :b', ExpressionAttributeValues: { ':b': 'BATCH#b' } }),
    ).toEqual(['Allow']);
    expect(decisions('wsConnect', 'DynamoDB', 'Query', { TableName: 'ferry-local-imports', IndexName: 'quarantined', KeyConditionExpression: 'q = :q', ExpressionAttributeValues: { ':q': 'x' } })).toEqual(['ImplicitDeny']);
  });

  it('the task-token call they make is allowed (no resource type, so Resource "*"); SendTaskFailure, which nothing sends, is not', () => {
    for (const key of ['wsConnect', 'waitForBrowserConnection']) {
      expect(decisions(key, 'SFN', 'SendTaskSuccess', { taskToken: 't', output: '{}' }), key).toEqual(['Allow']);
      expect(decisions(key, 'SFN', 'SendTaskFailure', { taskToken: 't' }), key).toEqual(['ImplicitDeny']);
    }
  });

  it('the resource functions may do what their code sends, on resources/ keys only', () => {
    // A call passes only when every IAM request it makes (KMS included) is allowed.
    const overall = (all: Decision[]) => (all.length > 0 && all.every((d) => d === 'Allow') ? 'Allow' : 'ImplicitDeny');
    const imports = 'ferry-local-imports';
    const item = { TableName: imports, Key: { pk: 'IMPORT#r-1' } };
    const upload = { Bucket: 'ferry-uploads', Key: 'uploads/u-1/r-1/x' };
    const kept = { Bucket: 'ferry-imports', Key: 'resources/u-1/r-1/original' };
    const byOwner = { TableName: imports, IndexName: 'resources', KeyConditionExpression: 'resourceOwner = :o', ExpressionAttributeValues: { ':o': 'RESOURCES#u-1' } };
    expect(overall(decisions('createResource', 'DynamoDB', 'BatchWriteItem', { RequestItems: { [imports]: [{ PutRequest: { Item: { pk: 'IMPORT#r-1' } } }] } }))).toBe('Allow');
    expect(overall(decisions('createResource', 'S3', 'PutObject', upload))).toBe('Allow');
    expect(overall(decisions('listResources', 'DynamoDB', 'Query', byOwner))).toBe('Allow');
    expect(overall(decisions('listResources', 'DynamoDB', 'Query', { ...byOwner, IndexName: 'quarantined' }))).toBe('ImplicitDeny');
    expect(overall(decisions('listResources', 'S3', 'GetObject', kept))).toBe('Allow');
    expect(overall(decisions('getResource', 'S3', 'GetObject', { ...kept, Key: 'imports/u-1/i-1/original' }))).toBe('ImplicitDeny');
    expect(overall(decisions('getResource', 'DynamoDB', 'GetItem', item))).toBe('Allow');
    expect(overall(decisions('deleteResource', 'DynamoDB', 'DeleteItem', item))).toBe('Allow');
    expect(overall(decisions('deleteResource', 'S3', 'DeleteObject', kept))).toBe('Allow');
    expect(overall(decisions('deleteResource', 'S3', 'DeleteObject', upload))).toBe('Allow');
    expect(overall(decisions('deleteResource', 'S3', 'DeleteObject', { ...kept, Key: 'imports/u-1/i-1/original' }))).toBe('ImplicitDeny');
    expect(overall(decisions('keepResource', 'DynamoDB', 'UpdateItem', item))).toBe('Allow');
    expect(overall(decisions('keepResource', 'S3', 'CopyObject', { ...kept, CopySource: `${upload.Bucket}/${upload.Key}` }))).toBe('Allow');
    expect(overall(decisions('keepResource', 'S3', 'DeleteObject', upload))).toBe('Allow');
    expect(overall(decisions('keepResource', 'S3', 'PutObject', { ...kept, Key: 'resources/u-1/r-1/thumbnail.webp' }))).toBe('Allow');
    expect(overall(decisions('keepResource', 'S3', 'PutObject', { ...kept, Key: 'imports/u-1/r-1/original' }))).toBe('ImplicitDeny');
    const importMachine = iam.stateMachineRoles['ferry-import-local'];
    expect(evaluate(importMachine!.policies, lambdaInvokeRequest(iam.functionArn('keepResource'))).decision).toBe('Allow');
  });

  it('the state machines may invoke their own tasks and nothing else', () => {
    const exportMachine = iam.stateMachineRoles['ferry-export-local'];
    expect(exportMachine).toBeDefined();
    expect(evaluate(exportMachine!.policies, lambdaInvokeRequest(iam.functionArn('pushLinkToBrowser'))).decision).toBe('Allow');
    expect(evaluate(exportMachine!.policies, lambdaInvokeRequest(iam.functionArn('processImport'))).decision).toBe('ImplicitDeny');
    const importMachine = iam.stateMachineRoles['ferry-import-local'];
    expect(evaluate(importMachine!.policies, lambdaInvokeRequest(iam.functionArn('processImport'))).decision).toBe('Allow');
  });
});
