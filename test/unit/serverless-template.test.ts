import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { ClamdScanner } from '../../adapters/clamd/clamd-scanner';
import { cfnLintMissing, titled } from '../requirements';

/**
 * The AWS packaging: `npm run package` (serverless package, offline, dummy credentials) must give a
 * CloudFormation template holding the export and import workflows, their routes, locked-down buckets
 * and one least-privilege role per function; infra/aws holds the stacks it imports from (including
 * the clamd service the antivirus check talks to).
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
  DeletionPolicy?: string;
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

/** The statements granting `action`, with each resource written out (`${Bucket.Arn}/prefix/*` for Fn::Sub). */
const resourcesFor = (statements: Statement[], action: string): string[] =>
  statements
    .filter((s) => s.Effect === 'Allow' && asArray(s.Action).includes(action))
    .flatMap((s) => asArray(s.Resource as unknown))
    .map((resource) => {
      if (typeof resource === 'string') return resource;
      if (isRecord(resource) && typeof resource['Fn::Sub'] === 'string') return resource['Fn::Sub'];
      if (isRecord(resource) && Array.isArray(resource['Fn::Sub'])) return String(resource['Fn::Sub'][0]);
      if (isRecord(resource) && Array.isArray(resource['Fn::GetAtt'])) return `\${${resource['Fn::GetAtt'].join('.')}}`;
      return JSON.stringify(resource);
    });

/** A state machine's ASL from the template, and the task placeholders it refers to. */
function definitionOf(machine: Resource): {
  text: string;
  asl: { StartAt: string; States: Record<string, Json> };
  targetOf: (placeholder: unknown) => unknown;
} {
  const [text, variables] = (machine.Properties!.DefinitionString as { 'Fn::Sub': [string, Record<string, unknown>] })['Fn::Sub'];
  const targetOf = (placeholder: unknown) => {
    const name = /^\$\{(.+)\}$/.exec(String(placeholder))?.[1];
    return (variables[name ?? ''] as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
  };
  return { text, asl: JSON.parse(text) as { StartAt: string; States: Record<string, Json> }, targetOf };
}

const TASK_TOKEN_ACTIONS = ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'];

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
      const { text, variables } = definition();
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
      // The partition comes from the stack (aws-cn, aws-us-gov deploy the same template), never written as `aws`.
      expect(text).not.toMatch(/"arn:aws:/);
      expect(Object.values(variables)).toContainEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:states:::lambda:invoke.waitForTaskToken' });
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
      expect(variables[/^\$\{(.+)\}$/.exec(String(wait.Resource))?.[1] ?? '']).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:states:::lambda:invoke.waitForTaskToken' });
      for (const ref of Object.values(variables)) {
        if ('Fn::Sub' in (ref as Json)) continue;
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
          'AssembleExportFile',
          'EmailLinkToUser',
          'GenerateCsvReport',
          'HandleExportFailure',
          'PlanExportSlices',
          'WriteExportSlice',
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

    it('requires the Cognito JWT on every import route and on the admin quarantine list', () => {
      const [[authorizerId]] = ofType('AWS::ApiGatewayV2::Authorizer') as [[string, Resource]];
      const all = routes();
      for (const key of [
        'POST /api/imports',
        'POST /api/imports/{importId}/parts',
        'POST /api/imports/{importId}/complete',
        'GET /api/imports/{importId}',
        'GET /api/admin/quarantine',
      ]) {
        expect(all.get(key), key).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
      }
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

  it('the Serverless deployment bucket blocks all public access', () => {
    expect(resources.ServerlessDeploymentBucket?.Properties?.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
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

  describe('the import state machine', () => {
    const importMachine = () => {
      const found = ofType('AWS::StepFunctions::StateMachine').find(([, r]) => r.Properties?.StateMachineName === `ferry-import-${STAGE}`);
      if (!found) throw new Error('no import state machine in the template');
      return found[1];
    };
    const fileStates = () => {
      const map = definitionOf(importMachine()).asl.States['Check and import each file']!;
      return (map.ItemProcessor as { States: Record<string, Json>; ProcessorConfig: Json }).States;
    };

    it('is built from statemachines/import.asl.yaml: a Distributed Map over the files, three parallel checks, then quarantine, reject or import', () => {
      const { asl } = definitionOf(importMachine());
      expect(asl.StartAt).toBe('Check and import each file');
      const map = asl.States['Check and import each file']!;
      expect(map).toMatchObject({
        Type: 'Map',
        MaxConcurrencyPath: '$.maxConcurrency',
        ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } },
      });
      for (const state of ['Notify user', 'Did every file import', 'Import finished', 'Handle import failure', 'Import failed']) {
        expect(asl.States, state).toHaveProperty([state]);
      }
      const states = fileStates();
      const check = states['Check the uploaded file']!;
      expect(check.Type).toBe('Parallel');
      expect((check.Branches as { StartAt: string }[]).map((branch) => branch.StartAt)).toEqual([
        'Scan for viruses',
        'Compute checksum',
        'Identify format',
      ]);
      expect(check.Next).toBe('Decide what to do with the file');
      expect(states['Decide what to do with the file']!.Type).toBe('Choice');
      for (const state of ['Quarantine infected file', 'Reject file', 'Import valid rows', 'Record file failure']) {
        expect(states[state]?.Type, state).toBe('Task');
      }
    });

    it('retries a busy scanner long enough (5 s doubling to 60 s, six times, full jitter), and every file ends with an empty output', () => {
      const scanBranch = (fileStates()['Check the uploaded file']!.Branches as { States: Record<string, Json> }[])[0]!;
      expect(scanBranch.States['Scan for viruses']!.Retry).toEqual([
        expect.objectContaining({
          ErrorEquals: expect.arrayContaining(['Transient', 'Lambda.TooManyRequestsException']),
          IntervalSeconds: 5,
          BackoffRate: 2,
          MaxAttempts: 6,
          MaxDelaySeconds: 60,
          JitterStrategy: 'FULL',
        }),
      ]);
      // Each outcome gives the file's slot back, and the release ends the file with an empty output.
      for (const state of ['Quarantine infected file', 'Reject file', 'Import valid rows', 'Record file failure']) {
        expect(fileStates()[state], state).toMatchObject({ ResultPath: null, Next: 'Release the processing slot' });
      }
      expect(fileStates()['Release the processing slot']).toMatchObject({ OutputPath: null, End: true });
      expect(fileStates()['Slot left to its lease']).toMatchObject({ Type: 'Pass', OutputPath: null, End: true });
    });

    it('points every task at the Lambda of the named serverless function', () => {
      const { asl, targetOf } = definitionOf(importMachine());
      const states = fileStates();
      const branches = states['Check the uploaded file']!.Branches as { States: Record<string, Json> }[];
      const targets = {
        'Scan for viruses': branches[0]!.States['Scan for viruses']!,
        'Compute checksum': branches[1]!.States['Compute checksum']!,
        'Identify format': branches[2]!.States['Identify format']!,
        'Quarantine infected file': states['Quarantine infected file']!,
        'Reject file': states['Reject file']!,
        'Import valid rows': states['Import valid rows']!,
        'Keep resource': states['Keep resource']!,
        'Record file failure': states['Record file failure']!,
        'Notify user': asl.States['Notify user']!,
        'Handle import failure': asl.States['Handle import failure']!,
      };
      expect(Object.fromEntries(Object.entries(targets).map(([name, state]) => [name, targetOf(state.Resource)]))).toEqual({
        'Scan for viruses': ['ScanForVirusesLambdaFunction', 'Arn'],
        'Compute checksum': ['ComputeChecksumLambdaFunction', 'Arn'],
        'Identify format': ['IdentifyFormatLambdaFunction', 'Arn'],
        'Quarantine infected file': ['QuarantineFileLambdaFunction', 'Arn'],
        'Reject file': ['RejectFileLambdaFunction', 'Arn'],
        'Import valid rows': ['ProcessImportLambdaFunction', 'Arn'],
        'Keep resource': ['KeepResourceLambdaFunction', 'Arn'],
        'Record file failure': ['HandleImportFailureLambdaFunction', 'Arn'],
        'Notify user': ['NotifyImportOutcomeLambdaFunction', 'Arn'],
        'Handle import failure': ['HandleImportFailureLambdaFunction', 'Arn'],
      });
    });

    it('may invoke exactly the import task functions, run its map children, and logs and traces its executions', () => {
      const machine = importMachine();
      const roleId = (machine.Properties!.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const statements = inlineStatements(resources[roleId]!);
      const invoked = referencesIn(statements.filter((s) => actionsOf([s]).includes('lambda:InvokeFunction')).map((s) => s.Resource));
      expect([...invoked].sort()).toEqual(
        [
          'AcquireImportSlot',
          'AwaitImportMapping',
          'ComputeChecksum',
          'ExpireImport',
          'HandleImportFailure',
          'IdentifyFormat',
          'KeepResource',
          'NotifyImportOutcome',
          'ProcessImport',
          'PlanImportChunks',
          'ImportChunk',
          'CommitImportChunks',
          'QuarantineFile',
          'RejectFile',
          'ReleaseImportSlot',
          'ScanForViruses',
        ]
          .map((name) => `${name}LambdaFunction`)
          .sort(),
      );
      expect(resourcesFor(statements, 'states:StartExecution')).toEqual([
        `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:ferry-import-${STAGE}`,
      ]);
      // Distributed Map children are <machine>/<map run label>:<id>.
      for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
        expect(resourcesFor(statements, action), action).toContain(
          `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:ferry-import-${STAGE}/*`,
        );
      }
      // A Retry is a new execution: nothing redrives, so nothing may.
      expect(resourcesFor(statements, 'states:RedriveExecution')).toEqual([]);
      expect(machine.Properties!.TracingConfiguration).toEqual({ Enabled: true });
      expect(machine.Properties!.LoggingConfiguration).toMatchObject({
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['ImportStateMachineLogGroup', 'Arn'] } } }],
      });
      expect(resources.ImportStateMachineLogGroup!.Properties!.LogGroupName).toBe(`/aws/vendedlogs/states/ferry-import-${STAGE}`);
    });
  });

  describe('the import buckets', () => {
    const buckets = { UploadsBucket: 'ImportsKey', PermanentBucket: 'ImportsKey', QuarantineBucket: 'QuarantineKey' } as const;

    it('encrypt with a KMS key (the quarantine with its own) and a bucket key, block all public access and enforce bucket ownership', () => {
      for (const [bucket, key] of Object.entries(buckets)) {
        const properties = resources[bucket]!.Properties!;
        expect(properties.BucketEncryption, bucket).toEqual({
          ServerSideEncryptionConfiguration: [
            {
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] } },
              BucketKeyEnabled: true,
            },
          ],
        });
        expect(resources[key]!.Properties!.EnableKeyRotation, key).toBe(true);
        expect(properties.PublicAccessBlockConfiguration, bucket).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
        expect(properties.OwnershipControls, bucket).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      }
    });

    it('refuse every request that does not use TLS', () => {
      for (const bucket of Object.keys(buckets)) {
        const policy = ofType('AWS::S3::BucketPolicy').find(([, r]) => (r.Properties!.Bucket as Json).Ref === bucket)?.[1];
        expect(policy, bucket).toBeDefined();
        const statements = (policy!.Properties!.PolicyDocument as { Statement: Statement[] }).Statement;
        expect(statements, bucket).toContainEqual(
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Resource: [{ 'Fn::GetAtt': [bucket, 'Arn'] }, { 'Fn::Sub': `\${${bucket}.Arn}/*` }],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        );
      }
    });

    it('expire uploads after 24 hours (1 day), abandoned multipart uploads included, and keep originals and quarantine', () => {
      const rules = (resources.UploadsBucket!.Properties!.LifecycleConfiguration as { Rules: Json[] }).Rules;
      expect(rules).toContainEqual(
        expect.objectContaining({
          Status: 'Enabled',
          ExpirationInDays: 24 / 24,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        }),
      );
      expect(rules.find((rule) => rule.ExpirationInDays !== undefined)?.Prefix).toBeUndefined();
      for (const bucket of ['PermanentBucket', 'QuarantineBucket']) {
        expect(resources[bucket]!.DeletionPolicy, bucket).toBe('Retain');
        const kept = (resources[bucket]!.Properties!.LifecycleConfiguration as { Rules: Json[] }).Rules;
        expect(
          kept.some((rule) => rule.ExpirationInDays !== undefined),
          bucket,
        ).toBe(false);
      }
    });

    it('let the app upload to the uploads bucket from its origin (POST form, PUT parts, ETag readable) and tell EventBridge', () => {
      const uploads = resources.UploadsBucket!.Properties!;
      expect(uploads.CorsConfiguration).toEqual({
        CorsRules: [
          expect.objectContaining({
            AllowedMethods: ['POST', 'PUT'],
            AllowedOrigins: ['https://ferry.example.com'],
            ExposedHeaders: ['ETag'],
          }),
        ],
      });
      expect(uploads.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
    });

    it('send "Object Created" under uploads/ to the upload handler through an EventBridge rule', () => {
      const rules = ofType('AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties!.EventPattern).includes('UploadsBucket'));
      expect(rules).toHaveLength(1);
      const [, rule] = rules[0]!;
      expect(rule.Properties!.EventPattern).toEqual({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [{ Ref: 'UploadsBucket' }] }, object: { key: [{ prefix: 'uploads/' }] } },
      });
      expect(rule.Properties!.Targets).toEqual([
        expect.objectContaining({ Arn: { 'Fn::GetAtt': ['OnUploadCreatedLambdaFunction', 'Arn'] } }),
      ]);
      const permission = ofType('AWS::Lambda::Permission').find(
        ([, r]) =>
          r.Properties!.Principal === 'events.amazonaws.com' && JSON.stringify(r.Properties!.FunctionName).includes('OnUploadCreated'),
      );
      expect(permission).toBeDefined();
    });

    it('keep an upload event onUploadCreated could not take in an encrypted dead-letter queue for 14 days (rule retry policy and async invoke config)', () => {
      const queue = resources.UploadEventsDeadLetterQueue!;
      expect(queue.Type).toBe('AWS::SQS::Queue');
      expect(queue.Properties).toMatchObject({ MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
      const dlqArn = { 'Fn::GetAtt': ['UploadEventsDeadLetterQueue', 'Arn'] };

      const [, rule] = ofType('AWS::Events::Rule').find(([, r]) => JSON.stringify(r.Properties!.EventPattern).includes('UploadsBucket'))!;
      expect(rule.Properties!.Targets).toEqual([
        expect.objectContaining({
          RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 8 },
          DeadLetterConfig: { Arn: dlqArn },
        }),
      ]);
      const invokeConfigs = ofType('AWS::Lambda::EventInvokeConfig').filter(([, r]) => JSON.stringify(r.Properties!.FunctionName).includes('OnUploadCreated'));
      expect(invokeConfigs).toHaveLength(1);
      expect(invokeConfigs[0]![1].Properties).toMatchObject({
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: dlqArn } },
      });

      const policy = ofType('AWS::SQS::QueuePolicy').find(([, r]) => JSON.stringify(r.Properties!.Queues).includes('UploadEventsDeadLetterQueue'));
      const statements = (policy?.[1].Properties!.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: dlqArn }),
      );
      expect(actionsOf(inlineStatements(roleOfFunction('onUploadCreated')))).toContain('sqs:SendMessage');
    });
  });

  it("keeps import records in an encrypted on-demand table with the adapter's key and indexes", () => {
    const table = resources.ImportsTable!;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    });
    const indexes = Object.fromEntries(
      (table.Properties!.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[]).map((index) => [
        index.IndexName,
        { keys: index.KeySchema, projection: index.Projection },
      ]),
    );
    expect(indexes).toEqual({
      byBatch: {
        keys: [
          { AttributeName: 'batchPk', KeyType: 'HASH' },
          { AttributeName: 'position', KeyType: 'RANGE' },
        ],
        projection: { ProjectionType: 'ALL' },
      },
      quarantined: {
        keys: [
          { AttributeName: 'quarantineList', KeyType: 'HASH' },
          { AttributeName: 'quarantinedSort', KeyType: 'RANGE' },
        ],
        projection: { ProjectionType: 'ALL' },
      },
      resources: {
        keys: [
          { AttributeName: 'resourceOwner', KeyType: 'HASH' },
          { AttributeName: 'resourceSort', KeyType: 'RANGE' },
        ],
        projection: { ProjectionType: 'ALL' },
      },
      byOwner: {
        keys: [
          { AttributeName: 'ownerKey', KeyType: 'HASH' },
          { AttributeName: 'createdSort', KeyType: 'RANGE' },
        ],
        projection: { ProjectionType: 'ALL' },
      },
    });
    const types = Object.fromEntries(
      (table.Properties!.AttributeDefinitions as { AttributeName: string; AttributeType: string }[]).map((a) => [
        a.AttributeName,
        a.AttributeType,
      ]),
    );
    expect(types).toEqual({ pk: 'S', batchPk: 'S', position: 'N', quarantineList: 'S', quarantinedSort: 'S', resourceOwner: 'S', resourceSort: 'S', ownerKey: 'S', createdSort: 'S' });
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
      // <Function>LambdaFunction runs as <Function>Role, a role declared in the template.
      const misnamed = functions()
        .map(([id, fn]) => [id, (fn.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]] as const)
        .filter(([id, roleId]) => roleId !== id.replace(/LambdaFunction$/, 'Role') || resources[roleId]?.Type !== 'AWS::IAM::Role');
      expect(misnamed).toEqual([]);
    });

    it('give the import functions only the calls they make, on the exact prefixes', () => {
      const statementsOf = (key: string) => inlineStatements(roleOfFunction(key));
      const uploads = '${UploadsBucket.Arn}/uploads/*';
      const importMachine = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:ferry-import-${STAGE}`;

      // Upload links carry the signer's rights: write to uploads/ and encrypt with the imports key.
      for (const key of ['createImport', 'presignImportParts']) {
        expect(resourcesFor(statementsOf(key), 's3:PutObject'), key).toEqual([uploads]);
        expect(resourcesFor(statementsOf(key), 'kms:GenerateDataKey'), key).toEqual(['${ImportsKey.Arn}']);
        expect(actionsOf(statementsOf(key)), key).not.toContain('states:StartExecution');
      }
      // Whatever arrives first (the S3 event or /complete) starts the import machine, and only that.
      for (const key of ['onUploadCreated', 'completeImport']) {
        expect(resourcesFor(statementsOf(key), 'states:StartExecution'), key).toEqual([importMachine]);
        expect(resourcesFor(statementsOf(key), 'dynamodb:UpdateItem'), key).toEqual(['${ImportsTable.Arn}']);
      }
      // The three checks read the upload and write their verdict; nothing else.
      for (const key of ['scanForViruses', 'computeChecksum', 'identifyFormat']) {
        expect(actionsOf(statementsOf(key)).sort(), key).toEqual([
          'dynamodb:GetItem',
          'dynamodb:UpdateItem',
          'kms:Decrypt',
          's3:GetObject',
        ]);
        expect(resourcesFor(statementsOf(key), 's3:GetObject'), key).toEqual([uploads]);
      }
      const quarantine = statementsOf('quarantineFile');
      expect(resourcesFor(quarantine, 's3:PutObject')).toEqual(['${QuarantineBucket.Arn}/quarantine/*']);
      expect(resourcesFor(quarantine, 's3:DeleteObject')).toEqual([uploads]);
      expect(resourcesFor(quarantine, 'kms:GenerateDataKey')).toEqual(['${QuarantineKey.Arn}']);
      expect(actionsOf(quarantine)).toEqual(expect.arrayContaining(['ses:SendEmail', 'dynamodb:PutItem']));
      expect(actionsOf(statementsOf('rejectFile')).sort()).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        's3:DeleteObject',
      ]);
      const processing = statementsOf('processImport');
      // Staging and commit of the rows (all or nothing), and the stored posts of the file's ids (upsert).
      expect(resourcesFor(processing, 'es:ESHttpPost')).toEqual([
        '${DomainArn}/_bulk',
        '${DomainArn}/posts/_mget',
        '${DomainArn}/posts-staging-v1/_search',
        '${DomainArn}/posts-staging-v1/_delete_by_query',
      ]);
      expect(resourcesFor(processing, 's3:PutObject')).toEqual(['${PermanentBucket.Arn}/imports/*']);
      expect(resourcesFor(processing, 's3:DeleteObject')).toEqual([uploads]);
      expect(resourcesFor(statementsOf('getImport'), 's3:GetObject')).toEqual(['${PermanentBucket.Arn}/imports/*/error-report.csv']);
      expect(resourcesFor(statementsOf('adminQuarantine'), 'dynamodb:Query')).toEqual(['${ImportsTable.Arn}/index/quarantined']);
      for (const key of ['notifyImportOutcome', 'handleImportFailure']) {
        expect(actionsOf(statementsOf(key)), key).toEqual(expect.arrayContaining(['ses:SendEmail', 'execute-api:ManageConnections']));
      }
      // Nobody reads the quarantine, and nobody but quarantineFile writes it or holds its key.
      for (const [id, role] of ofType('AWS::IAM::Role')) {
        const text = JSON.stringify(inlineStatements(role));
        if (id !== 'QuarantineFileRole') expect(text.includes('QuarantineBucket') || text.includes('QuarantineKey'), id).toBe(false);
      }
      // S3 object actions always name a prefix, never a whole bucket.
      for (const [id, role] of ofType('AWS::IAM::Role')) {
        for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
          for (const resource of resourcesFor(inlineStatements(role), action)) {
            expect(resource, `${id} ${action}`).toMatch(/^\$\{\w+Bucket\.Arn\}\/[a-z]+\//);
          }
        }
      }
    });

    it("run the antivirus check in the clamav stack's VPC, pointed at its clamd", () => {
      const scan = Object.values(resources).find((r) => r.Properties?.FunctionName === `ferry-${STAGE}-scanForViruses`)!;
      expect(scan.Properties!.VpcConfig).toEqual({
        SecurityGroupIds: [{ 'Fn::ImportValue': `ferry-${STAGE}-ScannerSecurityGroupId` }],
        SubnetIds: { 'Fn::Split': [',', { 'Fn::ImportValue': `ferry-${STAGE}-ScannerSubnetIds` }] },
      });
      expect((scan.Properties!.Environment as { Variables: Json }).Variables).toMatchObject({
        CLAMD_HOST: { 'Fn::ImportValue': `ferry-${STAGE}-ClamdHost` },
        CLAMD_PORT: { 'Fn::ImportValue': `ferry-${STAGE}-ClamdPort` },
      });
      expect(JSON.stringify(roleOfFunction('scanForViruses').Properties!.ManagedPolicyArns)).toContain('AWSLambdaENIManagementAccess');
      // No other function talks to clamd, so none other is configured for it (or sits in the VPC).
      for (const [id, fn] of functions()) {
        if (fn === scan) continue;
        expect((fn.Properties!.Environment as { Variables: Json }).Variables.CLAMD_HOST, id).toBeUndefined();
        expect(fn.Properties!.VpcConfig, id).toBeUndefined();
      }
    });

    it('bound the scan and the processing to the capacity they use, and the Map and the scan Retry fit under it', () => {
      const fnNamed = (key: string) => Object.values(resources).find((r) => r.Properties?.FunctionName === `ferry-${STAGE}-${key}`)!;
      const clamav = readFileSync(join(root, 'infra/aws/clamav.yml'), 'utf8');
      const threads = Number(/MaxThreads (\d+)/.exec(clamav)?.[1]);
      const tasks = Number(/TaskCount:\n(?:.*\n)*?\s+Default: (\d+)/.exec(clamav)?.[1]);
      expect(threads * tasks).toBe(16);
      expect(fnNamed('scanForViruses').Properties!.ReservedConcurrentExecutions).toBe(threads * tasks);
      expect(fnNamed('processImport').Properties!.ReservedConcurrentExecutions).toBe(10);
      // A large file's chunks import rows as processImport does, within the same processing budget.
      expect(fnNamed('importChunk').Properties!.ReservedConcurrentExecutions).toBe(10);
      const mapConcurrency = Number((fnNamed('createImport').Properties!.Environment as { Variables: Json }).Variables.IMPORT_MAP_CONCURRENCY);
      expect(mapConcurrency).toBeLessThanOrEqual(10);
      for (const [id, fn] of functions()) {
        if (/scanForViruses|processImport|importChunk$/.test(String(fn.Properties!.FunctionName))) continue;
        expect(fn.Properties!.ReservedConcurrentExecutions, id).toBeUndefined();
      }
    });

    it('get only the calls they make', () => {
      // The job record (JobsTable) and, for shareWith, the user pool, the audit log and mail.
      expect(actionsOf(inlineStatements(roleOfFunction('createDownloadRequest'))).sort()).toEqual([
        'cognito-idp:AdminGetUser',
        'dynamodb:BatchWriteItem',
        'dynamodb:PutItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'es:ESHttpPost',
        'ses:SendEmail',
        'states:StartExecution',
      ]);
      // Status reads come from the job record: no DescribeExecution.
      expect(actionsOf(inlineStatements(roleOfFunction('getDownloadRequest'))).sort()).toEqual([
        'dynamodb:GetItem',
        'dynamodb:Query',
        'kms:Decrypt',
        's3:GetObject',
      ]);
      expect(actionsOf(inlineStatements(roleOfFunction('recordExportRequest'))).sort()).toEqual([
        'dynamodb:PutItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
      expect(actionsOf(inlineStatements(roleOfFunction('health')))).toEqual([]);
      const generate = actionsOf(inlineStatements(roleOfFunction('generateCsvReport')));
      expect(generate).toEqual(expect.arrayContaining(['es:ESHttpPost', 'es:ESHttpDelete', 's3:PutObject']));
      expect(generate).not.toContain('es:ESHttpGet');
      expect(generate).not.toContain('s3:GetObject');
      // Export progress: written by the report task, read by the status route, only PROGRESS# items of the connections table.
      expect(generate).toContain('dynamodb:PutItem');
      // Its UpdateItem is on the job records only (below), never on the progress items.
      for (const fn of ['generateCsvReport', 'getDownloadRequest']) {
        const progress = inlineStatements(roleOfFunction(fn)).filter(
          (statement) =>
            asArray(statement.Action).some((action) => action.startsWith('dynamodb:')) && JSON.stringify(statement.Resource).includes('ConnectionsTable'),
        );
        expect(progress.map((statement) => statement.Resource), fn).toEqual([{ 'Fn::GetAtt': ['ConnectionsTable', 'Arn'] }]);
        expect(progress.map((statement) => statement.Condition), fn).toEqual([{ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PROGRESS#*'] } }]);
      }
      // Every other DynamoDB grant of the export's functions is on the job records.
      for (const fn of ['generateCsvReport', 'getDownloadRequest', 'listExports', 'getExport', 'deleteExport', 'shareExport']) {
        const other = inlineStatements(roleOfFunction(fn)).filter(
          (statement) =>
            asArray(statement.Action).some((action) => action.startsWith('dynamodb:') && action !== 'dynamodb:PutItem') &&
            !JSON.stringify(statement.Resource).includes('ConnectionsTable'),
        );
        expect(other.every((statement) => JSON.stringify(statement.Resource).includes('JobsTable')), fn).toBe(true);
      }
      expect(actionsOf(inlineStatements(roleOfFunction('deleteExport')))).toEqual(expect.arrayContaining(['states:StopExecution', 's3:DeleteObject']));
      expect(actionsOf(inlineStatements(roleOfFunction('waitForBrowserConnection')))).toContain('states:SendTaskSuccess');
      expect(actionsOf(inlineStatements(roleOfFunction('wsConnect')))).toContain('states:SendTaskSuccess');
      expect(actionsOf(inlineStatements(roleOfFunction('pushLinkToBrowser')))).toContain('execute-api:ManageConnections');
      expect(actionsOf(inlineStatements(roleOfFunction('handleExportFailure')))).toEqual(
        expect.arrayContaining(['execute-api:ManageConnections', 'ses:SendEmail', 'dynamodb:PutItem']),
      );
      expect(actionsOf(inlineStatements(roleOfFunction('emailLinkToUser')))).toContain('ses:SendEmail');
      // Retry starts a new execution (no RedriveExecution), looks for one already started, resets a batch's failed files.
      expect(actionsOf(inlineStatements(roleOfFunction('adminRetry'))).sort()).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'states:DescribeExecution',
        'states:StartExecution',
      ]);
      // The owner's Retry: the same calls, on the import workflow only, plus finding the owner's batch.
      expect(actionsOf(inlineStatements(roleOfFunction('retryImport'))).sort()).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'states:DescribeExecution',
        'states:StartExecution',
      ]);
      expect(JSON.stringify(inlineStatements(roleOfFunction('retryImport')))).not.toContain('export');
      for (const [id, role] of ofType('AWS::IAM::Role')) {
        for (const statement of inlineStatements(role)) {
          expect(
            asArray(statement.Action).some((action) => action.endsWith('*')),
            `${id} ${JSON.stringify(statement.Action)}`,
          ).toBe(false);
          // '*' only for actions that take no resource type (the task-token calls): nothing narrower grants them.
          const resourceless = asArray(statement.Action).every((action) => TASK_TOKEN_ACTIONS.includes(action));
          expect(
            statement.Resource === '*' && statement.Effect === 'Allow' && !id.startsWith('FerryDash') && !resourceless,
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
        UPLOADS_BUCKET: { Ref: 'UploadsBucket' },
        PERMANENT_BUCKET: { Ref: 'PermanentBucket' },
        QUARANTINE_BUCKET: { Ref: 'QuarantineBucket' },
        IMPORTS_TABLE: { Ref: 'ImportsTable' },
        MAX_IMPORT_BYTES: String(1024 ** 3),
        MAX_EXPORT_ROWS: '500000000',
        SCAN_RANGE_BYTES: String(1999 * 1024 ** 2),
        SCAN_RANGE_OVERLAP_BYTES: String(1024 ** 2),
        IMPORT_MAP_CONCURRENCY: '10',
        IMPORT_SLOTS: '10',
        IMPORT_SLOTS_PER_USER: '5',
        IMPORT_SLOT_LEASE_SECONDS: '21600',
        IMPORT_SLOT_WAITER_SECONDS: '300',
        SCAN_TIMEOUT_SECONDS: '600',
      };
      // Every variable functions/config.ts reads, but those only the local stack sets (or Lambda itself). AUTH_MODE and
      // COGNITO_* are the local stack's Cognito mode; in AWS the JWT_* below come from the same pool. *_ENDPOINT: emulators.
      const localOnly = new Set([
        'DATA_DIR',
        'AWS_REGION',
        'S3_ENDPOINT',
        'SFN_ENDPOINT',
        'SMTP_URL',
        'CLAMD_HOST',
        'CLAMD_PORT',
        'AUTH_MODE',
        'COGNITO_USER_POOL_ID',
        'COGNITO_CLIENT_ID',
        'COGNITO_REGION',
        'COGNITO_ENDPOINT',
        'COGNITO_AUTH_FLOW',
        'SES_ENDPOINT',
        'DYNAMODB_ENDPOINT',
      ]);
      const read = [...readFileSync(join(root, 'functions', 'config.ts'), 'utf8').matchAll(/\benv\.([A-Z0-9_]+)/g)].map(
        ([, name]) => name!,
      );
      const needed = [...new Set(read)].filter((name) => !localOnly.has(name));
      expect(needed).toEqual(expect.arrayContaining(['UPLOADS_BUCKET', 'IMPORTS_TABLE', 'IMPORT_STATE_MACHINE_ARN']));
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
        expect(JSON.stringify(variables.IMPORT_STATE_MACHINE_ARN)).toContain(`:stateMachine:ferry-import-${STAGE}`);
        expect(
          needed.filter((name) => variables[name] === undefined),
          id,
        ).toEqual([]);
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

  it('ships Lambda bundles without the local stack: no zip holds node:sqlite, nodemailer or s3rver, and health is under 1.5 MiB', async () => {
    const { execFileSync } = await import('node:child_process');
    const dir = join(root, '.serverless');
    const zips = readdirSync(dir).filter((file) => file.endsWith('.zip'));
    expect(zips.length).toBeGreaterThanOrEqual(30);
    const sizes = new Map<string, number>();
    for (const zip of zips) {
      const entries = execFileSync('unzip', ['-Z1', join(dir, zip)], { encoding: 'utf8' }).split('\n').filter(Boolean);
      const code = entries.filter((entry) => /\.(mjs|js|cjs)$/.test(entry));
      expect(code.length, zip).toBeGreaterThan(0);
      let bytes = 0;
      for (const entry of code) {
        const text = execFileSync('unzip', ['-p', join(dir, zip), entry], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
        bytes += Buffer.byteLength(text);
        for (const marker of ['node:sqlite', 'nodemailer', 's3rver']) expect(text.toLowerCase().includes(marker), `${zip}: ${entry} contains ${marker}`).toBe(false);
      }
      sizes.set(zip.replace(/\.zip$/, ''), bytes);
    }
    console.info(`unzipped bundle sizes (MB): ${[...sizes].map(([fn, bytes]) => `${fn} ${(bytes / 1e6).toFixed(2)}`).join(', ')}`);
    expect(sizes.get('health')).toBeLessThan(1.5 * 1024 * 1024);
  });
  describe('linted as CloudFormation and Step Functions would', () => {
    const cfnLint = cfnLintMissing();
    it.skipIf(cfnLint)(titled('cfn-lint finds no error in the compiled template nor in any infra/aws stack', cfnLint), () => {
      const awsDir = join(root, 'infra', 'aws');
      const files = [
        join(root, '.serverless', 'cloudformation-template-update-stack.json'),
        ...readdirSync(awsDir)
          .filter((file) => file.endsWith('.yml'))
          .map((file) => join(awsDir, file)),
      ];
      const run = spawnSync('cfn-lint', ['--format', 'json', '--', ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (run.error) throw run.error;
      const matches = JSON.parse(run.stdout || '[]') as { Level: string; Rule: { Id: string }; Message: string; Filename: string; Location: { Start: { LineNumber: number } } }[];
      const errors = matches.filter((m) => m.Level === 'Error').map((m) => `${m.Filename}:${m.Location.Start.LineNumber} ${m.Rule.Id} ${m.Message}`);
      expect(errors).toEqual([]);
      // Exit status bit 2 is "errors" (1 is a failure of cfn-lint itself); warnings (4) and notes (8) do not fail.
      expect((run.status ?? 1) & 3, run.stderr).toBe(0);
      // cfn-lint (Python) takes ~15 s idle and over the unit project's 30 s when the machine is busy with the other projects.
    }, 180_000);

    it('asl-validator accepts both compiled state machine definitions', () => {
      const validate = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };
      const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012' };
      const machines = ofType('AWS::StepFunctions::StateMachine');
      expect(machines).toHaveLength(2);
      for (const [id, machine] of machines) {
        // The Fn::Sub placeholders are the tasks' Lambda ARNs (and pseudo parameters) CloudFormation fills in.
        const text = definitionOf(machine).text.replace(/\$\{([^}]+)\}/g, (_, name: string) => pseudo[name] ?? `arn:aws:lambda:us-east-1:123456789012:function:${name}`);
        const result = validate(JSON.parse(text));
        expect(result.isValid ? '' : result.errorsText('\n'), id).toBe('');
      }
    });
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
    expect(templates.map(([file]) => file)).toEqual(['auth.yml', 'clamav.yml', 'mail.yml', 'search.yml', 'web.yml']);
    for (const [file, t] of templates) {
      const known = new Set([...Object.keys(t.Resources), ...Object.keys(t.Parameters ?? {})]);
      // Pseudo parameters (AWS::Region, AWS::AccountId…) are CloudFormation's own.
      const refs = [...referencesIn([t.Resources, t.Outputs])].filter((ref) => !ref.startsWith('AWS::'));
      for (const ref of refs) expect(known, `${file}: ${ref}`).toContain(ref);
    }
  });

  it("are apart from serverless.yml's own resources, which it includes from infra/aws/resources/ (every fragment, once)", () => {
    const included = [...readFileSync(join(root, 'serverless.yml'), 'utf8').matchAll(/^\s+- \$\{file\(\.\/infra\/aws\/resources\/([\w-]+\.yml)\)\}$/gm)].map(
      (match) => match[1],
    );
    const fragments = readdirSync(join(infraDir, 'resources')).filter((file) => file.endsWith('.yml'));

    expect(included.sort()).toEqual(fragments.sort());
    expect(fragments.length).toBeGreaterThan(0);
    for (const file of fragments) {
      const fragment = parse(readFileSync(join(infraDir, 'resources', file), 'utf8'), { customTags: cloudFormationTags() }) as Template;
      // A fragment is Resources (and Outputs) only: no stack of its own, so no Parameters or template version.
      expect(Object.keys(fragment).filter((key) => key !== 'Resources' && key !== 'Outputs'), file).toEqual([]);
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

  describe('the clamav stack', () => {
    const clamav = () => byFile().get('clamav.yml')!;
    const only = (type: string): Resource => {
      const found = Object.values(clamav().Resources).filter((r) => r.Type === type);
      expect(found, type).toHaveLength(1);
      return found[0]!;
    };
    const container = () => (only('AWS::ECS::TaskDefinition').Properties!.ContainerDefinitions as Json[])[0]!;
    /** The clamd.conf settings the task writes before starting the image's /init. */
    const clamdSettings = () => {
      const script = String((container().Command as string[])[0]);
      const block = /<<'SETTINGS'\n([\s\S]*?)\nSETTINGS\n/.exec(script)?.[1] ?? '';
      return new Map(block.split('\n').map((line) => line.trim().split(/\s+/) as [string, string]));
    };

    it('runs clamd as a Fargate service registered under a private DNS name that it exports as CLAMD_HOST', () => {
      const service = only('AWS::ECS::Service').Properties!;
      expect(service).toMatchObject({
        LaunchType: 'FARGATE',
        ServiceRegistries: [{ RegistryArn: { 'Fn::GetAtt': ['ClamdDiscovery', 'Arn'] } }],
      });
      expect(service.DeploymentConfiguration).toMatchObject({ MinimumHealthyPercent: 100 });
      const discovery = only('AWS::ServiceDiscovery::Service').Properties!;
      const namespace = only('AWS::ServiceDiscovery::PrivateDnsNamespace').Properties!;
      const host = (clamav().Outputs!.ClamdHost!.Value as { 'Fn::Sub': string })['Fn::Sub'];
      expect(host).toBe(`${String(discovery.Name)}.${(namespace.Name as { 'Fn::Sub': string })['Fn::Sub']}`);
      expect(container().PortMappings).toEqual([{ ContainerPort: 3310, Protocol: 'tcp' }]);
      expect(clamav().Outputs!.ClamdPort!.Value).toBe('3310');
      expect(container().HealthCheck).toMatchObject({ Command: ['CMD', 'clamdcheck.sh'] });
    });

    it('configures clamd for what ClamdScanner sends: streams up to its range size, nothing skipped for size', () => {
      const settings = clamdSettings();
      const megabytes = (value: string | undefined) => Number(/^(\d+)M$/.exec(value ?? '')?.[1]) * 1024 * 1024;
      const scanner = new ClamdScanner({ host: 'clamd', port: 3310 });
      for (const limit of ['StreamMaxLength', 'MaxFileSize', 'MaxScanSize']) {
        expect(megabytes(settings.get(limit)), limit).toBeGreaterThan(scanner.maxStreamBytes);
      }
      expect(settings.get('AlertExceedsMax')).toBe('yes');
      expect(settings.get('TCPSocket')).toBe('3310');
      expect(
        String((container().Command as string[])[0])
          .trimEnd()
          .endsWith('exec /init'),
      ).toBe(true);
    });

    it('refreshes signatures every 2 hours in each task and replaces the tasks daily from the newest image', () => {
      expect(container().Environment).toContainEqual({ Name: 'FRESHCLAM_CHECKS', Value: '12' });
      const schedule = only('AWS::Scheduler::Schedule').Properties!;
      expect(schedule.ScheduleExpression).toMatch(/^cron\(/);
      const target = schedule.Target as Json;
      expect(target.Arn).toBe('arn:aws:scheduler:::aws-sdk:ecs:updateService');
      expect(JSON.parse((target.Input as { 'Fn::Sub': string })['Fn::Sub']) as Json).toMatchObject({ forceNewDeployment: true });
      const role = clamav().Resources[(target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]]!;
      expect(inlineStatements(role)).toEqual([{ Effect: 'Allow', Action: 'ecs:UpdateService', Resource: { Ref: 'ClamdService' } }]);
    });

    it('lets only the scanner functions reach clamd, and gives them no route but the S3 and DynamoDB endpoints', () => {
      const resources = clamav().Resources;
      const ingress = Object.values(resources).filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress');
      expect(ingress.map((r) => r.Properties)).toEqual([
        expect.objectContaining({
          GroupId: { Ref: 'ClamdSecurityGroup' },
          FromPort: 3310,
          ToPort: 3310,
          SourceSecurityGroupId: { Ref: 'ScannerSecurityGroup' },
        }),
      ]);
      expect(resources.ClamdSecurityGroup!.Properties!.SecurityGroupIngress).toBeUndefined();
      const routes = Object.values(resources).filter((r) => r.Type === 'AWS::EC2::Route');
      expect(routes.map((r) => r.Properties!.RouteTableId)).toEqual([{ Ref: 'PublicRouteTable' }]);
      const endpoints = Object.values(resources).filter((r) => r.Type === 'AWS::EC2::VPCEndpoint');
      expect(endpoints.map((r) => (r.Properties!.ServiceName as { 'Fn::Sub': string })['Fn::Sub']).sort()).toEqual([
        'com.amazonaws.${AWS::Region}.dynamodb',
        'com.amazonaws.${AWS::Region}.s3',
      ]);
      for (const endpoint of endpoints) expect(endpoint.Properties!.RouteTableIds).toEqual([{ Ref: 'ScannerRouteTable' }]);
      const exported = Object.values(clamav().Outputs!).map((o) => (o.Export?.Name as { 'Fn::Sub'?: string } | undefined)?.['Fn::Sub']);
      expect(exported).toEqual(
        expect.arrayContaining([
          'ferry-${Stage}-ClamdHost',
          'ferry-${Stage}-ClamdPort',
          'ferry-${Stage}-ScannerSecurityGroupId',
          'ferry-${Stage}-ScannerSubnetIds',
        ]),
      );
    });
  });
});
