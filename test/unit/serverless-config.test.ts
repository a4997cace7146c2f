import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServerlessConfig, readServerlessYml, resolveServerlessVariables } from '../../infra/local/serverless-config';

describe('the serverless.yml the local stack reads', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const service = (files: Record<string, string>) => {
    dir = mkdtempSync(path.join(tmpdir(), 'ferry-serverless-config-'));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    return path.join(dir, 'serverless.yml');
  };

  it('includes ${file(...)} and ${file(...):key} relative to the service directory, and merges a list of resources', () => {
    const yml = service({
      'serverless.yml': [
        'service: s',
        'custom: ${file(./parts/custom.yml):settings}',
        'functions:',
        '  one: { handler: one.handler, role: OneRole }',
        'resources:',
        '  - ${file(./parts/roles.yml)}',
        '  - Resources:',
        '      Bucket: { Type: AWS::S3::Bucket }',
        '    Outputs:',
        '      BucketName: { Value: !Ref Bucket }',
      ].join('\n'),
      'parts/custom.yml': 'settings:\n  stage: ${sls:stage}\n',
      'parts/roles.yml': [
        'Resources:',
        '  OneRole:',
        '    Type: AWS::IAM::Role',
        '    Properties:',
        '      Policies:',
        '        - PolicyDocument:',
        '            Statement:',
        '              - { Effect: Allow, Action: s3:GetObject, Resource: !Sub "${Bucket.Arn}/*" }',
      ].join('\n'),
    });

    expect(readServerlessYml(yml).custom).toEqual({ stage: '${sls:stage}' });
    const config = loadServerlessConfig(yml);
    expect(Object.keys(config.resources)).toEqual(['OneRole', 'Bucket']);
    expect(config.roleStatementsOf('one')).toEqual([{ Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': '${Bucket.Arn}/*' } }]);
  });

  it('refuses a resource defined twice and an include of a key the file lacks', () => {
    const twice = service({
      'serverless.yml': 'functions: {}\nresources:\n  - ${file(./a.yml)}\n  - ${file(./a.yml)}\n',
      'a.yml': 'Resources:\n  Same: { Type: AWS::S3::Bucket }\n',
    });
    expect(() => loadServerlessConfig(twice)).toThrow('resource "Same" is defined twice');
    rmSync(dir!, { recursive: true, force: true });

    const missing = service({ 'serverless.yml': 'functions: {}\ncustom: ${file(./a.yml):nope}\n', 'a.yml': 'yes: 1\n' });
    expect(() => readServerlessYml(missing)).toThrow('has no "nope"');
  });

  it("reads each function's role statements from Ferry's serverless.yml: the shared managed policy, then its own", () => {
    const config = loadServerlessConfig(path.resolve('serverless.yml'));
    const actions = (functionKey: string) => config.roleStatementsOf(functionKey).flatMap((s) => [s.Action].flat());

    expect(actions('health')).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
    expect(actions('createDownloadRequest')).toContain('states:StartExecution');
    expect(config.roleStatementsOf('onUploadCreated')).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Action: 'states:StartExecution' }),
    );
    expect(() => config.roleStatementsOf('nothing')).toThrow('No function "nothing"');
  });

  it("reads onUploadCreated's EventBridge rule: S3's Object Created in the uploads bucket, keys under uploads/", () => {
    const { functions } = loadServerlessConfig(path.resolve('serverless.yml'));

    expect(functions.onUploadCreated?.eventPatterns).toEqual([
      {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [{ Ref: 'UploadsBucket' }] }, object: { key: [{ prefix: 'uploads/' }] } },
      },
    ]);
    expect(Object.values(functions).filter((fn) => fn.eventPatterns.length).length).toBe(1);
  });
});

describe('Serverless variables, resolved as `serverless package` resolves them', () => {
  const document = {
    service: 'ferry',
    params: { default: { appUrl: 'https://ferry.example.com' } },
    custom: {
      infra: 'ferry-${sls:stage}',
      machineName: 'ferry-export-${sls:stage}',
      machineArn: { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${self:custom.machineName}' },
    },
    provider: { stage: "${opt:stage, 'dev'}", logs: '/aws/lambda/${self:service}-${sls:stage}-*', url: '${param:appUrl}/x' },
    resources: { Resource: '${self:custom.machineArn}', Import: { 'Fn::ImportValue': '${self:custom.infra}-SearchDomainArn' } },
  };

  it('resolves self, sls:stage, param and opt (with its default), nested custom values included', () => {
    const resolved = resolveServerlessVariables(document, { stage: 'local' }) as typeof document;
    expect(resolved.provider).toEqual({ stage: 'local', logs: '/aws/lambda/ferry-local-*', url: 'https://ferry.example.com/x' });
    expect(resolved.resources.Import).toEqual({ 'Fn::ImportValue': 'ferry-local-SearchDomainArn' });
  });

  it('a string that is one variable takes its value as is, and CloudFormation ${…} is left alone', () => {
    const resolved = resolveServerlessVariables(document, { stage: 'local' }) as typeof document;
    expect(resolved.resources.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:ferry-export-local' });
  });

  it('opt takes a given option over its default; an unknown variable or a cycle is an error', () => {
    expect((resolveServerlessVariables({ a: '${opt:region, us-east-1}' }, { stage: 'x', options: { region: 'eu-west-1' } }) as { a: string }).a).toBe('eu-west-1');
    expect(() => resolveServerlessVariables({ a: '${self:custom.missing}' }, { stage: 'x' })).toThrow(/cannot resolve \$\{self:custom.missing\}/);
    expect(() => resolveServerlessVariables({ custom: { a: '${self:custom.b}', b: '${self:custom.a}' } }, { stage: 'x' })).toThrow(/refers to itself/);
  });

  it('the repository serverless.yml resolves completely for the local stage', () => {
    const config = loadServerlessConfig(path.join(__dirname, '..', '..', 'serverless.yml'), { stage: 'local' });
    expect(JSON.stringify(config.resources)).not.toMatch(/\$\{(self|sls|param|opt):/);
  });
});
