import { describe, expect, it } from 'vitest';
import { decisionKey, evaluateRemembered } from '../../infra/local/iam/decision-cache';
import { evaluate, type IamRequest, type PolicyDocument } from '../../infra/local/iam/evaluate';
import { repositoryIam } from './repository-iam';
import { iamRequestsFor, presignedS3Requests } from '../../infra/local/iam/requests';

/** Local IAM remembers its decisions: every remembered one is the decision evaluate makes for that request. */
const iam = repositoryIam();
const TABLE = 'arn:aws:dynamodb:us-east-1:000000000000:table/ferry-local-jobs';
const req = (action: string, resource: string, context: IamRequest['context'] = {}): IamRequest => ({ action, resource, context });

/** Asked twice (the second answer is the remembered one): both must be evaluate's. */
const twice = (policies: readonly PolicyDocument[], request: IamRequest) => {
  const expected = evaluate(policies, request);
  expect(evaluateRemembered(policies, request)).toEqual(expected);
  expect(evaluateRemembered(policies, request)).toEqual(expected);
  return expected.decision;
};

describe('remembered local IAM decisions', () => {
  it("give every role of serverless.yml the same allow or deny as evaluating afresh, for the S3, DynamoDB and presigned requests Ferry sends", () => {
    const requests: IamRequest[] = [
      ...['ferry-exports', 'ferry-uploads', 'ferry-imports'].flatMap((bucket) =>
        (['GET', 'HEAD', 'PUT', 'POST'] as const).flatMap((method) => presignedS3Requests(iam.scope, { method, bucket, key: `${bucket === 'ferry-exports' ? 'exports' : 'uploads'}/alice/x/f.csv` })),
      ),
      ...['JOB#alice', 'PROGRESS#e-1', 'USER#bob'].flatMap((pk) => [
        ...iamRequestsFor(iam.scope, 'DynamoDB', 'GetItem', { TableName: 'ferry-local-jobs', Key: { pk, sk: 'x' } }),
        ...iamRequestsFor(iam.scope, 'DynamoDB', 'PutItem', { TableName: 'ferry-local-jobs', Item: { pk, sk: 'x' } }),
        ...iamRequestsFor(iam.scope, 'DynamoDB', 'UpdateItem', { TableName: 'ferry-local-jobs', Key: { pk, sk: 'x' } }),
      ]),
    ];
    const decisions = new Set<string>();
    for (const role of Object.values(iam.functionRoles)) for (const request of requests) decisions.add(twice(role.policies, request));
    // The sample meets both outcomes, so a cache that answered one of them for everything would fail above.
    expect([...decisions].sort()).toEqual(['Allow', 'ImplicitDeny']);
  });

  it('decide again when a condition key the policy names has another value: dynamodb:LeadingKeys PROGRESS#* allows PROGRESS#1, not JOB#1', () => {
    const policies: PolicyDocument[] = [
      { Statement: { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: TABLE, Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PROGRESS#*'] } } } },
    ];
    expect(twice(policies, req('dynamodb:PutItem', TABLE, { 'dynamodb:LeadingKeys': ['PROGRESS#1'] }))).toBe('Allow');
    expect(twice(policies, req('dynamodb:PutItem', TABLE, { 'dynamodb:LeadingKeys': ['JOB#1'] }))).toBe('ImplicitDeny');
    expect(twice(policies, req('dynamodb:PutItem', TABLE, { 'dynamodb:LeadingKeys': ['PROGRESS#1', 'JOB#1'] }))).toBe('ImplicitDeny');
    // The key's name is matched case-insensitively, as IAM does.
    expect(twice(policies, req('dynamodb:PutItem', TABLE, { 'DynamoDB:leadingkeys': ['JOB#2'] }))).toBe('ImplicitDeny');
    // ForAllValues over a missing key holds, over an empty set too: both remembered apart from a set with values.
    expect(twice(policies, req('dynamodb:PutItem', TABLE))).toBe('Allow');
    expect(twice(policies, req('dynamodb:PutItem', TABLE, { 'dynamodb:LeadingKeys': [] }))).toBe('Allow');
  });

  it('decide again for a Deny whose condition holds in one context and not in another (aws:SecureTransport false)', () => {
    const policies: PolicyDocument[] = [
      { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }, { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] },
    ];
    const object = 'arn:aws:s3:::ferry-exports/exports/a.csv';
    expect(twice(policies, req('s3:GetObject', object, { 'aws:SecureTransport': true }))).toBe('Allow');
    expect(twice(policies, req('s3:GetObject', object, { 'aws:SecureTransport': false }))).toBe('ExplicitDeny');
    expect(twice(policies, req('s3:GetObject', object, { 'aws:SecureTransport': 'false' }))).toBe('ExplicitDeny');
    expect(twice(policies, req('s3:GetObject', object))).toBe('Allow');
  });

  it('key on the condition keys some statement names, and only those: a context key no statement names cannot change a decision', () => {
    const request = (region: string, leading: string[]) => req('dynamodb:GetItem', TABLE, { 'aws:RequestedRegion': region, 'dynamodb:LeadingKeys': leading });
    const named = ['dynamodb:leadingkeys'];
    expect(decisionKey(named, request('us-east-1', ['A']))).toBe(decisionKey(named, request('eu-west-1', ['A'])));
    expect(decisionKey(named, request('us-east-1', ['A']))).not.toBe(decisionKey(named, request('us-east-1', ['B'])));
    expect(decisionKey(named, req('dynamodb:GetItem', TABLE))).not.toBe(decisionKey(named, request('us-east-1', [])));
    expect(decisionKey([], request('us-east-1', ['A']))).not.toBe(decisionKey([], req('dynamodb:PutItem', TABLE)));
  });
});
