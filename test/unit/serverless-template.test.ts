import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';

/**
 * The AWS packaging: `npm run package` (serverless package, offline, dummy credentials) must give a
 * CloudFormation template holding the export workflow, its routes and a locked-down exports bucket;
 * infra/aws holds the stacks it imports from.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STAGE = 'dev';
// serverless-esbuild reports a bundling error and then never exits, so the run has its own deadline.
const PACKAGE_DEADLINE_MS = 300_000;

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties?: Json;
  DependsOn?: string | string[];
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Parameters?: Record<string, unknown>;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

function runPackage(): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', 'package'], {
      cwd: root,
      env: { ...process.env, STAGE, SLS_TELEMETRY_DISABLED: '1' },
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = setTimeout(() => {
      output += `\n[test] npm run package did not finish within ${PACKAGE_DEADLINE_MS / 1000} s; stopped it.`;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, PACKAGE_DEADLINE_MS);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Every logical id a CloudFormation value refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub). */
function referencesIn(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencesIn(item, into);
  } else if (isRecord(value)) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') into.add(inner);
      else if (key === 'Fn::GetAtt') into.add(Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]!);
      else if (key === 'Fn::Sub') {
        const [text, variables] = Array.isArray(inner) ? [String(inner[0]), inner[1]] : [String(inner), {}];
        const local = new Set(Object.keys(isRecord(variables) ? variables : {}));
        for (const [, name] of text.matchAll(/\$\{([^}!]+)\}/g)) {
          const id = name!.split('.')[0]!;
          if (!local.has(id) && !id.startsWith('AWS::')) into.add(id);
        }
        referencesIn(variables, into);
      } else referencesIn(inner, into);
    }
  }
  return into;
}

function inlineStatements(role: Resource): Statement[] {
  const policies = asArray(role.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined);
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

const actionsOf = (statements: Statement[]): string[] => statements.flatMap((s) => asArray(s.Action));

describe('the packaged AWS template (npm run package)', () => {
  let template: Template;
  let resources: Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const roleOfFunction = (functionKey: string): Resource => {
    const fn = Object.values(resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.FunctionName === `ferry-${STAGE}-${functionKey}`,
    );
    if (!fn) throw new Error(`no Lambda function ${functionKey}`);
    const [roleId] = (fn.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    return resources[roleId]!;
  };

  beforeAll(async () => {
    const run = await runPackage();
    if (run.code !== 0) throw new Error(`npm run package failed (exit ${run.code}):\n${run.output.slice(-6000)}`);
    console.info(`npm run package took ${run.seconds.toFixed(1)} s`);
    template = JSON.parse(readFileSync(join(root, '.serverless', 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
    resources = template.Resources;
  }, PACKAGE_DEADLINE_MS + 30_000);

  describe('the export state machine', () => {
    const exportMachine = () => {
      const found = ofType('AWS::StepFunctions::StateMachine').find(([, r]) => r.Properties?.StateMachineName === `ferry-export-${STAGE}`);
      if (!found) throw new Error('no export state machine in the template');
      return found[1];
    };
    const definition = () => {
      const sub = (exportMachine().Properties!.DefinitionString as { 'Fn::Sub': [string, Record<string, unknown>] })['Fn::Sub'];
      return { text: sub[0], variables: sub[1] };
    };

    it('is built from statemachines/export.asl.yaml with its delivery choice, parallel push and callback wait', () => {
      const { text } = definition();
      const asl = JSON.parse(text) as { StartAt: string; States: Record<string, Json> };
      expect(asl.StartAt).toBe('Record export request');
      for (const state of [
        'Choose delivery',
        'Generate CSV report',
        'Email link to user',
        'Generate CSV report while waiting for browser',
        'Push link to browser',
        'Record export success',
        'Handle export failure',
      ]) {
        expect(asl.States, state).toHaveProperty([state]);
      }
      expect(text).toContain('Wait for browser connection');
      expect(text).toContain('arn:aws:states:::lambda:invoke.waitForTaskToken');
    });

    it('points every task, including the callback FunctionName, at the Lambda of the named serverless function', () => {
      const { text, variables } = definition();
      const asl = JSON.parse(text) as { States: Record<string, Json> };
      const targetOf = (placeholder: unknown) => {
        const name = /^\$\{(.+)\}$/.exec(String(placeholder))?.[1];
        const ref = variables[name ?? ''] as { 'Fn::GetAtt'?: [string, string] } | undefined;
        return ref?.['Fn::GetAtt'];
      };
      expect(targetOf(asl.States['Record export request']!.Resource)).toEqual(['RecordExportRequestLambdaFunction', 'Arn']);
      expect(targetOf(asl.States['Generate CSV report']!.Resource)).toEqual(['GenerateCsvReportLambdaFunction', 'Arn']);
      const branches = asl.States['Generate CSV report while waiting for browser']!.Branches as { States: Record<string, Json> }[];
      const wait = branches[1]!.States['Wait for browser connection']!;
      expect(targetOf((wait.Parameters as Json).FunctionName)).toEqual(['WaitForBrowserConnectionLambdaFunction', 'Arn']);
      for (const ref of Object.values(variables)) {
        const [logicalId] = (ref as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
        expect(resources[logicalId]?.Type, logicalId).toBe('AWS::Lambda::Function');
      }
    });

    it('may invoke exactly the workflow functions, and logs and traces its executions', () => {
      const machine = exportMachine();
      const roleId = (machine.Properties!.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const invoke = inlineStatements(resources[roleId]!).filter((s) => actionsOf([s]).includes('lambda:InvokeFunction'));
      const invoked = new Set([...referencesIn(invoke.map((s) => s.Resource))]);
      expect([...invoked].sort()).toEqual(
        [
          'EmailLinkToUser',
          'GenerateCsvReport',
          'HandleExportFailure',
          'PushLinkToBrowser',
          'RecordExportRequest',
          'RecordExportSuccess',
          'WaitForBrowserConnection',
        ]
          .map((name) => `${name}LambdaFunction`)
          .sort(),
      );
      expect(machine.Properties!.TracingConfiguration).toEqual({ Enabled: true });
      expect(machine.Properties!.LoggingConfiguration).toMatchObject({ Level: 'ALL' });
    });
  });

  describe('the APIs', () => {
    const routes = () =>
      new Map(ofType('AWS::ApiGatewayV2::Route').map(([, r]) => [String(r.Properties!.RouteKey), r.Properties!] as const));

    it('requires a Cognito JWT on the search and download-request routes, and leaves health open', () => {
      const [[authorizerId, authorizer]] = ofType('AWS::ApiGatewayV2::Authorizer') as [[string, Resource]];
      expect(authorizer.Properties).toMatchObject({
        Name: 'cognito',
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
      });
      expect(JSON.stringify(authorizer.Properties!.JwtConfiguration)).toContain(
        'https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPoolId}',
      );
      const all = routes();
      for (const key of ['GET /api/search', 'POST /api/download-request', 'GET /api/download-request/{executionArn}']) {
        expect(all.get(key), key).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
      }
      expect(all.get('GET /api/health')?.AuthorizationType).toBeUndefined();
    });

    it('routes WebSocket $connect and $disconnect to their functions', () => {
      const all = routes();
      expect(all.get('$connect')).toBeDefined();
      expect(all.get('$disconnect')).toBeDefined();
      const [[, api]] = ofType('AWS::ApiGatewayV2::Api').filter(([, r]) => r.Properties!.ProtocolType === 'WEBSOCKET') as [
        [string, Resource],
      ];
      expect(api.Properties!.RouteSelectionExpression).toBe('$request.body.action');
    });
  });

  describe('the exports bucket', () => {
    const bucket = () => resources.ExportsBucket!.Properties!;

    it('encrypts with its KMS key and a bucket key, and blocks all public access', () => {
      expect(bucket().BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': ['ExportsKey', 'Arn'] } },
            BucketKeyEnabled: true,
          },
        ],
      });
      expect(bucket().PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket().OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    });

    it('refuses every request that does not use TLS', () => {
      const policy = ofType('AWS::S3::BucketPolicy').find(([, r]) => (r.Properties!.Bucket as Json).Ref === 'ExportsBucket')![1];
      const statements = (policy.Properties!.PolicyDocument as { Statement: Statement[] }).Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    });

    it('expires exports after 72 hours (3 days) and aborts abandoned multipart uploads', () => {
      const rules = (bucket().LifecycleConfiguration as { Rules: Json[] }).Rules;
      expect(rules).toContainEqual(expect.objectContaining({ Status: 'Enabled', Prefix: 'exports/', ExpirationInDays: 72 / 24 }));
      expect(rules.some((rule) => rule.AbortIncompleteMultipartUpload && rule.Prefix === undefined)).toBe(true);
    });
  });

  describe('the functions', () => {
    const functions = () => ofType('AWS::Lambda::Function').filter(([id]) => !id.startsWith('Custom'));

    it('run on Node.js 22 on arm64', () => {
      expect(functions().length).toBeGreaterThanOrEqual(13);
      for (const [id, fn] of functions()) {
        expect(fn.Properties!.Runtime, id).toBe('nodejs22.x');
        expect(fn.Properties!.Architectures, id).toEqual(['arm64']);
      }
    });

    it('each run as a role of their own; there is no shared execution role', () => {
      const withoutOwnRole = functions()
        .filter(([, fn]) => (fn.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0] === 'IamRoleLambdaExecution')
        .map(([id]) => id);
      expect(withoutOwnRole).toEqual([]);
      const roles = functions().map(([, fn]) => JSON.stringify(fn.Properties!.Role));
      expect(new Set(roles).size).toBe(roles.length);
    });

    it('get only the calls they make', () => {
      expect(actionsOf(inlineStatements(roleOfFunction('createDownloadRequest')))).toEqual(['states:StartExecution']);
      expect(actionsOf(inlineStatements(roleOfFunction('getDownloadRequest'))).sort()).toEqual([
        'kms:Decrypt',
        's3:GetObject',
        'states:DescribeExecution',
      ]);
      expect(actionsOf(inlineStatements(roleOfFunction('recordExportRequest')))).toEqual(['dynamodb:PutItem']);
      expect(actionsOf(inlineStatements(roleOfFunction('health')))).toEqual([]);
      const generate = actionsOf(inlineStatements(roleOfFunction('generateCsvReport')));
      expect(generate).toEqual(expect.arrayContaining(['es:ESHttpGet', 'es:ESHttpPost', 's3:PutObject']));
      expect(generate).not.toContain('s3:GetObject');
      expect(actionsOf(inlineStatements(roleOfFunction('waitForBrowserConnection')))).toContain('states:SendTaskSuccess');
      expect(actionsOf(inlineStatements(roleOfFunction('wsConnect')))).toContain('states:SendTaskSuccess');
      expect(actionsOf(inlineStatements(roleOfFunction('pushLinkToBrowser')))).toContain('execute-api:ManageConnections');
      expect(actionsOf(inlineStatements(roleOfFunction('handleExportFailure')))).toEqual(
        expect.arrayContaining(['execute-api:ManageConnections', 'ses:SendEmail', 'dynamodb:PutItem']),
      );
      expect(actionsOf(inlineStatements(roleOfFunction('emailLinkToUser')))).toContain('ses:SendEmail');
      for (const [id, role] of ofType('AWS::IAM::Role')) {
        for (const statement of inlineStatements(role)) {
          expect(
            asArray(statement.Action).some((action) => action.endsWith('*')),
            `${id} ${JSON.stringify(statement.Action)}`,
          ).toBe(false);
          expect(
            statement.Resource === '*' && statement.Effect === 'Allow' && !id.startsWith('FerryDash'),
            `${id} grants on every resource`,
          ).toBe(false);
        }
      }
    });

    it('receive every setting functions/config.ts needs in AWS', () => {
      const expected = {
        EXPORTS_BUCKET: { Ref: 'ExportsBucket' },
        EXPORT_TTL_HOURS: '72',
        AUDIT_TABLE: { Ref: 'AuditTable' },
        CONNECTIONS_TABLE: { Ref: 'ConnectionsTable' },
        MAIL_TRANSPORT: 'ses',
      };
      for (const [id, fn] of functions()) {
        const variables = (fn.Properties!.Environment as { Variables: Json }).Variables;
        expect(variables, id).toMatchObject(expected);
        for (const name of [
          'OPENSEARCH_URL',
          'EXPORT_STATE_MACHINE_ARN',
          'MAIL_FROM',
          'ADMIN_EMAIL',
          'APP_URL',
          'JWT_ISSUER',
          'JWT_AUDIENCE',
          'JWKS_URL',
          'WS_MANAGEMENT_ENDPOINT',
        ]) {
          expect(variables[name], `${id} ${name}`).toBeDefined();
        }
        expect(JSON.stringify(variables.JWKS_URL)).toContain('/.well-known/jwks.json');
        expect(JSON.stringify(variables.EXPORT_STATE_MACHINE_ARN)).toContain(`:stateMachine:ferry-export-${STAGE}`);
      }
    });
  });

  it('keeps audit and connection records in encrypted on-demand tables', () => {
    for (const id of ['AuditTable', 'ConnectionsTable']) {
      expect(resources[id]!.Properties, id).toMatchObject({ BillingMode: 'PAY_PER_REQUEST', SSESpecification: { SSEEnabled: true } });
    }
    expect(resources.AuditTable!.Properties!.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({
        IndexName: 'newestFirst',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
      }),
    ]);
    expect(resources.ConnectionsTable!.Properties!.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('refers only to resources it defines (a dangling Ref or GetAtt fails the deploy)', () => {
    const dangling = Object.entries(resources).flatMap(([id, r]) =>
      [...referencesIn(r.Properties), ...asArray(r.DependsOn)]
        .filter((ref) => !ref.startsWith('AWS::') && !(ref in resources))
        .map((ref) => `${id} -> ${ref}`),
    );
    expect(dangling).toEqual([]);
  });

  it('has no circular dependency between its resources (CloudFormation would refuse it)', () => {
    const edges = new Map(
      Object.entries(resources).map(([id, r]) => [
        id,
        [...referencesIn(r.Properties), ...asArray(r.DependsOn)].filter((ref) => ref in resources),
      ]),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const cycle: string[] = [];
    const visit = (id: string, path: string[]): boolean => {
      if (state.get(id) === 'done') return false;
      if (state.get(id) === 'visiting') {
        cycle.push(...path.slice(path.indexOf(id)), id);
        return true;
      }
      state.set(id, 'visiting');
      const found = (edges.get(id) ?? []).some((next) => visit(next, [...path, id]));
      state.set(id, 'done');
      return found;
    };
    for (const id of edges.keys()) if (visit(id, [])) break;
    expect(cycle).toEqual([]);
  });

  it('imports only values that the infra/aws stacks export', () => {
    const imported = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (isRecord(value)) {
        for (const [key, inner] of Object.entries(value)) {
          if (key === 'Fn::ImportValue' && typeof inner === 'string') imported.add(inner);
          else collect(inner);
        }
      }
    };
    collect(resources);
    const exported = new Set(
      infraTemplates().flatMap(([, t]) =>
        Object.values(t.Outputs ?? {}).flatMap((output) => {
          const name = output.Export?.Name as { 'Fn::Sub'?: string } | undefined;
          return name?.['Fn::Sub'] ? [name['Fn::Sub'].replace('${Stage}', STAGE)] : [];
        }),
      ),
    );
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) expect(exported, name).toContain(name);
  });
});

// ---- infra/aws: the stacks serverless.yml does not hold -------------------------------------------

const CFN_FUNCTIONS = [
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'And',
  'Equals',
  'If',
  'Not',
  'Or',
];

/** CloudFormation's short-form tags (`!Ref`, `!GetAtt a.b`, `!Sub`…) read as their long form. */
const cloudFormationTags = (): (ScalarTag | CollectionTag)[] =>
  ['Ref', 'Condition', ...CFN_FUNCTIONS].flatMap((name): (ScalarTag | CollectionTag)[] => {
    const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
    const fromNode = (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [key]: node.toJSON() });
    return [
      { tag: `!${name}`, resolve: (value: string) => ({ [key]: name === 'GetAtt' ? value.split('.') : value }) },
      { tag: `!${name}`, collection: 'seq', resolve: fromNode },
      { tag: `!${name}`, collection: 'map', resolve: fromNode },
    ];
  });

const infraDir = join(root, 'infra', 'aws');

function infraTemplates(): [string, Template][] {
  return readdirSync(infraDir)
    .filter((file) => file.endsWith('.yml') || file.endsWith('.yaml'))
    .sort()
    .map((file) => [file, parse(readFileSync(join(infraDir, file), 'utf8'), { customTags: cloudFormationTags() }) as Template]);
}

describe('the infra/aws CloudFormation templates', () => {
  const byFile = () => new Map(infraTemplates());
  const types = (file: string) => Object.values(byFile().get(file)?.Resources ?? {}).map((r) => r.Type);

  it('parse, and every Ref, GetAtt and ${…} names a resource or parameter of the same template', () => {
    const templates = infraTemplates();
    expect(templates.map(([file]) => file)).toEqual(['auth.yml', 'mail.yml', 'search.yml', 'web.yml']);
    for (const [file, t] of templates) {
      const known = new Set([...Object.keys(t.Resources), ...Object.keys(t.Parameters ?? {})]);
      for (const ref of referencesIn([t.Resources, t.Outputs])) expect(known, `${file}: ${ref}`).toContain(ref);
    }
  });

  it('hold the OpenSearch domain: encrypted at rest and between nodes, HTTPS only, fine-grained access, no VPC', () => {
    const [domain] = Object.values(byFile().get('search.yml')!.Resources).filter((r) => r.Type === 'AWS::OpenSearchService::Domain');
    expect(domain!.Properties).toMatchObject({
      EncryptionAtRestOptions: { Enabled: true },
      NodeToNodeEncryptionOptions: { Enabled: true },
      DomainEndpointOptions: { EnforceHTTPS: true },
      AdvancedSecurityOptions: { Enabled: true },
    });
    expect(domain!.Properties!.VPCOptions).toBeUndefined();
  });

  it('hold the Cognito user pool with its app client, admin group and hosted domain', () => {
    expect(types('auth.yml')).toEqual(
      expect.arrayContaining([
        'AWS::Cognito::UserPool',
        'AWS::Cognito::UserPoolClient',
        'AWS::Cognito::UserPoolGroup',
        'AWS::Cognito::UserPoolDomain',
      ]),
    );
    const group = Object.values(byFile().get('auth.yml')!.Resources).find((r) => r.Type === 'AWS::Cognito::UserPoolGroup');
    expect(group!.Properties!.GroupName).toBe('admin');
  });

  it('hold the SES identity and the CloudFront-only web hosting', () => {
    expect(types('mail.yml')).toContain('AWS::SES::EmailIdentity');
    expect(types('web.yml')).toEqual(
      expect.arrayContaining([
        'AWS::S3::Bucket',
        'AWS::CloudFront::Distribution',
        'AWS::CloudFront::OriginAccessControl',
        'AWS::S3::BucketPolicy',
      ]),
    );
  });
});
