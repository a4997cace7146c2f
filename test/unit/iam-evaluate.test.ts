import { describe, expect, it } from 'vitest';
import { evaluate, type IamRequest, type PolicyDocument, type PolicyStatement } from '../../infra/local/iam/evaluate';

/**
 * IAM's documented rules for identity-based policies, one case per rule. "Logic" cites
 * reference_policies_evaluation-logic, "Action"/"Resource"/"Condition" the IAM JSON policy element
 * pages, "Operators" reference_policies_elements_condition_operators, "Multivalued"
 * reference_policies_condition-single-vs-multi-valued-context-keys (all in the IAM User Guide).
 */

const doc = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: '2012-10-17', Statement });
const req = (action: string, resource: string, context: IamRequest['context'] = {}): IamRequest => ({ action, resource, context });
const OBJECT = 'arn:aws:s3:::ferry-exports/exports/a.csv';
const decide = (policies: PolicyDocument[], request: IamRequest) => evaluate(policies, request).decision;

describe('evaluation logic', () => {
  it('denies by default when no statement applies (Logic: implicit deny)', () => {
    expect(decide([], req('s3:GetObject', OBJECT))).toBe('ImplicitDeny');
    expect(decide([doc({ Effect: 'Allow', Action: 's3:PutObject', Resource: OBJECT })], req('s3:GetObject', OBJECT))).toBe('ImplicitDeny');
  });

  it('allows when any statement of any policy allows (Logic: an Allow overrides the implicit deny)', () => {
    const policies = [doc({ Effect: 'Allow', Action: 's3:PutObject', Resource: '*' }), doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: OBJECT })];
    const result = evaluate(policies, req('s3:GetObject', OBJECT));
    expect(result.decision).toBe('Allow');
    expect(result.matchedStatement).toEqual({ Effect: 'Allow', Action: 's3:GetObject', Resource: OBJECT });
  });

  it('lets an explicit Deny win over any Allow, whatever the order (Logic: explicit deny)', () => {
    const deny: PolicyStatement = { Effect: 'Deny', Action: 's3:*', Resource: '*' };
    const allow: PolicyStatement = { Effect: 'Allow', Action: 's3:GetObject', Resource: OBJECT };
    expect(evaluate([doc(allow), doc(deny)], req('s3:GetObject', OBJECT))).toEqual({ decision: 'ExplicitDeny', matchedStatement: deny });
    expect(decide([doc(deny, allow)], req('s3:GetObject', OBJECT))).toBe('ExplicitDeny');
  });

  it('ignores a Deny whose condition does not hold (Logic: a statement applies only when all its elements match)', () => {
    const policies = [
      doc(
        { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
        { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      ),
    ];
    expect(decide(policies, req('s3:GetObject', OBJECT, { 'aws:SecureTransport': true }))).toBe('Allow');
    expect(decide(policies, req('s3:GetObject', OBJECT, { 'aws:SecureTransport': false }))).toBe('ExplicitDeny');
  });
});

describe('Action and NotAction', () => {
  const allow = (Action: string | string[]) => [doc({ Effect: 'Allow', Action, Resource: '*' })];

  it('matches action names case-insensitively, service prefix too (Action: "case insensitive")', () => {
    expect(decide(allow('S3:getobject'), req('s3:GetObject', OBJECT))).toBe('Allow');
  });

  it('expands * and ? within the action name (Action: wildcards)', () => {
    expect(decide(allow('s3:Get*'), req('s3:GetObject', OBJECT))).toBe('Allow');
    expect(decide(allow('s3:*Object'), req('s3:PutObject', OBJECT))).toBe('Allow');
    expect(decide(allow('dynamodb:?etItem'), req('dynamodb:GetItem', '*'))).toBe('Allow');
    expect(decide(allow('dynamodb:?etItem'), req('dynamodb:BatchGetItem', '*'))).toBe('ImplicitDeny');
    expect(decide(allow('*'), req('states:StartExecution', '*'))).toBe('Allow');
  });

  it('does not let a wildcard cross into another service (Action: the prefix is part of the match)', () => {
    expect(decide(allow('s3:*'), req('s3express:CreateSession', '*'))).toBe('ImplicitDeny');
  });

  it('applies a NotAction statement to every action except those listed (NotAction)', () => {
    const policies = [doc({ Effect: 'Allow', NotAction: ['s3:DeleteObject', 'iam:*'], Resource: '*' })];
    expect(decide(policies, req('s3:GetObject', OBJECT))).toBe('Allow');
    expect(decide(policies, req('s3:DeleteObject', OBJECT))).toBe('ImplicitDeny');
    expect(decide(policies, req('iam:PassRole', '*'))).toBe('ImplicitDeny');
  });

  it('makes a NotAction Deny deny everything else (NotAction with Deny)', () => {
    const policies = [doc({ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', NotAction: 's3:GetObject', Resource: '*' })];
    expect(decide(policies, req('s3:GetObject', OBJECT))).toBe('Allow');
    expect(decide(policies, req('s3:PutObject', OBJECT))).toBe('ExplicitDeny');
  });
});

describe('Resource and NotResource', () => {
  const allow = (Resource: string | string[]) => [doc({ Effect: 'Allow', Action: '*', Resource })];

  it('matches ARNs case-sensitively (Resource: "case sensitive")', () => {
    expect(decide(allow('arn:aws:s3:::ferry-exports/exports/*'), req('s3:GetObject', OBJECT))).toBe('Allow');
    expect(decide(allow('arn:aws:s3:::ferry-exports/Exports/*'), req('s3:GetObject', OBJECT))).toBe('ImplicitDeny');
  });

  it('lets * replace everything in a segment, slashes included (Resource: wildcards)', () => {
    expect(decide(allow('arn:aws:s3:::ferry-exports/*'), req('s3:GetObject', 'arn:aws:s3:::ferry-exports/exports/2026/a.csv'))).toBe('Allow');
    expect(decide(allow('arn:aws:s3:::ferry-permanent/imports/*/error-report.csv'), req('s3:GetObject', 'arn:aws:s3:::ferry-permanent/imports/i-1/error-report.csv'))).toBe('Allow');
    expect(decide(allow('arn:aws:s3:::ferry-permanent/imports/*/error-report.csv'), req('s3:GetObject', 'arn:aws:s3:::ferry-permanent/imports/i-1/original'))).toBe('ImplicitDeny');
  });

  it('matches ? as exactly one character (Resource: wildcards)', () => {
    expect(decide(allow('arn:aws:dynamodb:us-east-1:123456789012:table/t?'), req('dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:123456789012:table/t1'))).toBe('Allow');
    expect(decide(allow('arn:aws:dynamodb:us-east-1:123456789012:table/t?'), req('dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:123456789012:table/t12'))).toBe('ImplicitDeny');
  });

  it('keeps a * inside a segment from crossing a colon (Resource: wildcards within colon-separated segments)', () => {
    expect(decide(allow('arn:aws:states:us-*-1:123456789012:stateMachine:m'), req('states:StartExecution', 'arn:aws:states:us-east-1:123456789012:stateMachine:m'))).toBe('Allow');
    expect(decide(allow('arn:aws:states:us*1:stateMachine:m'), req('states:StartExecution', 'arn:aws:states:us-east-1:123456789012:stateMachine:m'))).toBe('ImplicitDeny');
    expect(decide(allow('arn:aws:states:*:123456789012:execution:m*x'), req('states:DescribeExecution', 'arn:aws:states:us-east-1:123456789012:execution:m:x'))).toBe('ImplicitDeny');
  });

  it('lets a * that ends a segment run past its colons (Resource: "can expand to match beyond the colon boundaries")', () => {
    const executions = 'arn:aws:states:us-east-1:123456789012:execution:ferry-export-dev:*';
    expect(decide(allow(executions), req('states:DescribeExecution', 'arn:aws:states:us-east-1:123456789012:execution:ferry-export-dev:e-1'))).toBe('Allow');
    const children = 'arn:aws:states:us-east-1:123456789012:execution:ferry-import-dev/*';
    expect(decide(allow(children), req('states:RedriveExecution', 'arn:aws:states:us-east-1:123456789012:execution:ferry-import-dev/map:child-1'))).toBe('Allow');
    expect(decide(allow(executions), req('states:DescribeExecution', 'arn:aws:states:us-east-1:123456789012:execution:ferry-import-dev:e-1'))).toBe('ImplicitDeny');
  });

  it('grants an action that takes no resource only through Resource "*" (Resource: actions without resource-level permissions)', () => {
    expect(decide(allow('arn:aws:states:us-east-1:123456789012:stateMachine:m'), req('states:SendTaskSuccess', '*'))).toBe('ImplicitDeny');
    expect(decide(allow('*'), req('states:SendTaskSuccess', '*'))).toBe('Allow');
  });

  it('applies a NotResource statement to every resource except those listed (NotResource)', () => {
    const policies = [doc({ Effect: 'Allow', Action: 's3:GetObject', NotResource: 'arn:aws:s3:::ferry-quarantine/*' })];
    expect(decide(policies, req('s3:GetObject', OBJECT))).toBe('Allow');
    expect(decide(policies, req('s3:GetObject', 'arn:aws:s3:::ferry-quarantine/quarantine/x'))).toBe('ImplicitDeny');
  });
});

describe('Condition', () => {
  const allowWhen = (Condition: PolicyStatement['Condition']) => [doc({ Effect: 'Allow', Action: '*', Resource: '*', Condition })];
  const withContext = (context: IamRequest['context']) => req('ses:SendEmail', '*', context);

  it('StringEquals compares case-sensitively; key names are case-insensitive (Condition: "key names are not case-sensitive")', () => {
    const policies = allowWhen({ StringEquals: { 'ses:FromAddress': 'no-reply@ferry.local' } });
    expect(decide(policies, withContext({ 'SES:fromaddress': 'no-reply@ferry.local' }))).toBe('Allow');
    expect(decide(policies, withContext({ 'ses:FromAddress': 'No-Reply@ferry.local' }))).toBe('ImplicitDeny');
  });

  it('ORs the values of one key and ANDs keys and operators (Condition: evaluation logic for multiple values and keys)', () => {
    const policies = allowWhen({
      StringEquals: { 'ses:FromAddress': ['a@x', 'b@x'], 'aws:RequestedRegion': 'us-east-1' },
      Bool: { 'aws:SecureTransport': 'true' },
    });
    const base = { 'ses:FromAddress': 'b@x', 'aws:RequestedRegion': 'us-east-1', 'aws:SecureTransport': true };
    expect(decide(policies, withContext(base))).toBe('Allow');
    expect(decide(policies, withContext({ ...base, 'aws:RequestedRegion': 'eu-west-1' }))).toBe('ImplicitDeny');
    expect(decide(policies, withContext({ ...base, 'aws:SecureTransport': false }))).toBe('ImplicitDeny');
  });

  it('fails a positive operator on a missing key (Condition: "the values do not match")', () => {
    expect(decide(allowWhen({ StringEquals: { 'ses:FromAddress': 'a@x' } }), withContext({}))).toBe('ImplicitDeny');
    expect(decide(allowWhen({ StringLike: { 'ses:FromAddress': '*' } }), withContext({}))).toBe('ImplicitDeny');
  });

  it('StringNotEquals holds when the value is none of the listed ones, and on a missing key (Operators: negated matching)', () => {
    const policies = allowWhen({ StringNotEquals: { 'ses:FromAddress': ['a@x', 'b@x'] } });
    expect(decide(policies, withContext({ 'ses:FromAddress': 'c@x' }))).toBe('Allow');
    expect(decide(policies, withContext({ 'ses:FromAddress': 'a@x' }))).toBe('ImplicitDeny');
    expect(decide(policies, withContext({}))).toBe('Allow');
  });

  it('StringLike and StringNotLike use * and ? case-sensitively (Operators: string condition operators)', () => {
    expect(decide(allowWhen({ StringLike: { 'ses:FromAddress': '*@ferry.??' } }), withContext({ 'ses:FromAddress': 'me@ferry.io' }))).toBe('Allow');
    expect(decide(allowWhen({ StringLike: { 'ses:FromAddress': '*@FERRY.io' } }), withContext({ 'ses:FromAddress': 'me@ferry.io' }))).toBe('ImplicitDeny');
    expect(decide(allowWhen({ StringNotLike: { 'ses:FromAddress': '*@ferry.io' } }), withContext({ 'ses:FromAddress': 'me@other.io' }))).toBe('Allow');
    expect(decide(allowWhen({ StringNotLike: { 'ses:FromAddress': '*@ferry.io' } }), withContext({ 'ses:FromAddress': 'me@ferry.io' }))).toBe('ImplicitDeny');
  });

  it('StringEqualsIgnoreCase ignores case (Operators)', () => {
    expect(decide(allowWhen({ StringEqualsIgnoreCase: { 'ses:FromAddress': 'A@X' } }), withContext({ 'ses:FromAddress': 'a@x' }))).toBe('Allow');
  });

  it('numeric and date operators compare as numbers and instants (Operators: numeric, date)', () => {
    expect(decide(allowWhen({ NumericLessThanEquals: { 's3:max-keys': '10' } }), withContext({ 's3:max-keys': 10 }))).toBe('Allow');
    expect(decide(allowWhen({ NumericLessThanEquals: { 's3:max-keys': '10' } }), withContext({ 's3:max-keys': '11' }))).toBe('ImplicitDeny');
    expect(decide(allowWhen({ NumericLessThan: { 's3:max-keys': '10' } }), withContext({ 's3:max-keys': 10 }))).toBe('ImplicitDeny');
    expect(decide(allowWhen({ NumericGreaterThan: { 's3:max-keys': '9' } }), withContext({ 's3:max-keys': '1e1' }))).toBe('Allow');
    expect(decide(allowWhen({ NumericEquals: { 's3:max-keys': '10' } }), withContext({ 's3:max-keys': 'ten' }))).toBe('ImplicitDeny');
    expect(decide(allowWhen({ DateLessThan: { 'aws:CurrentTime': '2026-12-31T00:00:00Z' } }), withContext({ 'aws:CurrentTime': '2026-12-01T20:00:00Z' }))).toBe('Allow');
    expect(decide(allowWhen({ DateGreaterThan: { 'aws:EpochTime': '2026-12-31T00:00:00Z' } }), withContext({ 'aws:EpochTime': '1764619200' }))).toBe('ImplicitDeny');
  });

  it('Bool compares true/false (Operators: Boolean)', () => {
    expect(decide(allowWhen({ Bool: { 'aws:SecureTransport': 'true' } }), withContext({ 'aws:SecureTransport': true }))).toBe('Allow');
    expect(decide(allowWhen({ Bool: { 'aws:SecureTransport': 'true' } }), withContext({ 'aws:SecureTransport': 'false' }))).toBe('ImplicitDeny');
  });

  it('ArnLike and ArnEquals match segment by segment with wildcards; ArnNotLike negates (Operators: ARN)', () => {
    const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:ferry-export-dev';
    expect(decide(allowWhen({ ArnLike: { 'aws:SourceArn': 'arn:aws:states:*:123456789012:stateMachine:ferry-*' } }), withContext({ 'aws:SourceArn': arn }))).toBe('Allow');
    expect(decide(allowWhen({ ArnEquals: { 'aws:SourceArn': 'arn:aws:states:us-east-1:123456789012:stateMachine:ferry-*' } }), withContext({ 'aws:SourceArn': arn }))).toBe('Allow');
    expect(decide(allowWhen({ ArnLike: { 'aws:SourceArn': 'arn:aws:states:*:210987654321:*' } }), withContext({ 'aws:SourceArn': arn }))).toBe('ImplicitDeny');
    expect(decide(allowWhen({ ArnNotLike: { 'aws:SourceArn': 'arn:aws:states:*:210987654321:*' } }), withContext({ 'aws:SourceArn': arn }))).toBe('Allow');
  });

  it('Null tests presence: "true" means absent, "false" present (Operators: Null)', () => {
    expect(decide(allowWhen({ Null: { 'aws:TokenIssueTime': 'true' } }), withContext({}))).toBe('Allow');
    expect(decide(allowWhen({ Null: { 'aws:TokenIssueTime': 'true' } }), withContext({ 'aws:TokenIssueTime': 'x' }))).toBe('ImplicitDeny');
    expect(decide(allowWhen({ Null: { 'aws:TokenIssueTime': 'false' } }), withContext({ 'aws:TokenIssueTime': 'x' }))).toBe('Allow');
  });

  it('...IfExists holds on a missing key and tests the value otherwise (Operators: IfExists)', () => {
    const policies = allowWhen({ StringEqualsIfExists: { 'ses:FromAddress': 'a@x' } });
    expect(decide(policies, withContext({}))).toBe('Allow');
    expect(decide(policies, withContext({ 'ses:FromAddress': 'a@x' }))).toBe('Allow');
    expect(decide(policies, withContext({ 'ses:FromAddress': 'b@x' }))).toBe('ImplicitDeny');
  });

  it('ForAllValues holds when every value of the set matches one policy value (Multivalued: ForAllValues)', () => {
    const policies = allowWhen({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PROGRESS#*'] } });
    const get = (keys: string[]) => req('dynamodb:GetItem', '*', { 'dynamodb:LeadingKeys': keys });
    expect(decide(policies, get(['PROGRESS#e-1']))).toBe('Allow');
    expect(decide(policies, get(['PROGRESS#e-1', 'CONNECTION#c']))).toBe('ImplicitDeny');
  });

  it('ForAllValues is true for a missing key or an empty set: the documented pitfall (Multivalued: "returns true if … no keys")', () => {
    const policies = allowWhen({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PROGRESS#*'] } });
    expect(decide(policies, req('dynamodb:GetItem', '*', {}))).toBe('Allow');
    expect(decide(policies, req('dynamodb:GetItem', '*', { 'dynamodb:LeadingKeys': [] }))).toBe('Allow');
  });

  it('ForAnyValue holds when at least one value matches, and fails on a missing key (Multivalued: ForAnyValue)', () => {
    const policies = allowWhen({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['team', 'owner'] } });
    expect(decide(policies, withContext({ 'aws:TagKeys': ['cost', 'owner'] }))).toBe('Allow');
    expect(decide(policies, withContext({ 'aws:TagKeys': ['cost'] }))).toBe('ImplicitDeny');
    expect(decide(policies, withContext({}))).toBe('ImplicitDeny');
  });

  it('ForAllValues with a negated operator: no value may be among the listed ones (Multivalued: ForAllValues:StringNotLike)', () => {
    const policies = allowWhen({ 'ForAllValues:StringNotLike': { 'dynamodb:Attributes': ['secret*'] } });
    expect(decide(policies, withContext({ 'dynamodb:Attributes': ['pk', 'status'] }))).toBe('Allow');
    expect(decide(policies, withContext({ 'dynamodb:Attributes': ['pk', 'secretToken'] }))).toBe('ImplicitDeny');
  });

  it('refuses an operator it does not know rather than guessing (an unsupported operator is an error, not an Allow)', () => {
    expect(() => evaluate(allowWhen({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }), withContext({ 'aws:SourceIp': '10.1.1.1' }))).toThrow(/unsupported condition operator IpAddress/);
  });
});
