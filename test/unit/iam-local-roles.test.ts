import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluate, type Decision } from '../../infra/local/iam/evaluate';
import { localIam } from '../../infra/local/iam/local-iam';
import { iamRequestsFor, type SdkService } from '../../infra/local/iam/requests';
import { lambdaInvokeRequest } from '../../infra/local/iam/roles';

/** The repository's serverless.yml, as the local stack enforces it: these fail on the roles the review found. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const iam = localIam({
  serverlessYmlPath: join(root, 'serverless.yml'),
  buckets: { ExportsBucket: 'ferry-exports', UploadsBucket: 'ferry-uploads', PermanentBucket: 'ferry-imports', QuarantineBucket: 'ferry-quarantine' },
  region: 'us-east-1',
  account: '000000000000',
});

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

  it('the task-token calls are allowed: they take no resource type, so the grant is Resource "*"', () => {
    for (const key of ['wsConnect', 'waitForBrowserConnection']) {
      expect(decisions(key, 'SFN', 'SendTaskSuccess', { taskToken: 't', output: '{}' }), key).toEqual(['Allow']);
      expect(decisions(key, 'SFN', 'SendTaskFailure', { taskToken: 't' }), key).toEqual(['Allow']);
    }
  });

  it('the state machines may invoke their own tasks and nothing else', () => {
    const exportMachine = iam.stateMachineRoles['ferry-export'];
    expect(exportMachine).toBeDefined();
    expect(evaluate(exportMachine!.policies, lambdaInvokeRequest(iam.functionArn('pushLinkToBrowser'))).decision).toBe('Allow');
    expect(evaluate(exportMachine!.policies, lambdaInvokeRequest(iam.functionArn('processImport'))).decision).toBe('ImplicitDeny');
    const importMachine = iam.stateMachineRoles['ferry-import'];
    expect(evaluate(importMachine!.policies, lambdaInvokeRequest(iam.functionArn('processImport'))).decision).toBe('Allow');
  });
});
