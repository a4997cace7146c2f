/**
 * Ferry's roles as the local stack enforces them: serverless.yml (variables resolved for the `local`
 * stage) resolved against the local stack's physical resources: its buckets, its `ferry-local-<x>`
 * tables, its state machines and functions, stand-in KMS keys and WebSocket API, and the infra/aws
 * stacks' exports faked locally. Everything the wiring needs: the role of each function and state
 * machine, and the scope requests.ts maps SDK commands in.
 */
import { loadServerlessConfig, type ServerlessConfig } from '../serverless-config';
import { localTableNames } from '../dynamodb/tables';
import type { TableResource } from '../dynamodb/table-resources';
import type { LocalRole } from './enforce';
import type { IamScope } from './requests';
import { resolveIntrinsics, resolveRoles, stateMachineRole, type LocalResolution, type PhysicalResource } from './roles';

export interface LocalIamOptions {
  serverlessYmlPath: string;
  /** Bucket logical id (ExportsBucket …) → the local bucket name. */
  buckets: Readonly<Record<string, string>>;
  region: string;
  account: string;
  stage?: string;
}

export interface LocalIam {
  scope: IamScope;
  resolution: LocalResolution;
  /** The role each function runs as (functions without `role:` run unrestricted: none in Ferry). */
  functionRoles: Record<string, LocalRole>;
  /** The role each state machine (by its name, the stage's: ferry-export-local …) invokes its functions with. */
  stateMachineRoles: Record<string, LocalRole>;
  functionArn(functionKey: string): string;
}

/** `generateCsvReport` → `GenerateCsvReportLambdaFunction`, the logical id serverless gives a function. */
const functionLogicalId = (key: string) => `${key.charAt(0).toUpperCase()}${key.slice(1).replace(/-/g, 'Dash').replace(/_/g, 'Underscore')}LambdaFunction`;

export function localIam(options: LocalIamOptions): LocalIam {
  const stage = options.stage ?? 'local';
  const config: ServerlessConfig = loadServerlessConfig(options.serverlessYmlPath, { stage });
  const { region, account } = options;
  const partition = 'aws';
  const arn = (service: string, resource: string) => `arn:${partition}:${service}:${region}:${account}:${resource}`;
  const functionName = (key: string) => `ferry-${stage}-${key}`;
  const functionArn = (key: string) => arn('lambda', `function:${functionName(key)}`);

  const tables: Record<string, TableResource> = {};
  const physical: Record<string, PhysicalResource> = { WebsocketsApi: { name: 'local' } };
  for (const [id, resource] of Object.entries(config.resources)) {
    if (resource.Type === 'AWS::DynamoDB::Table') tables[id] = resource as unknown as TableResource;
    if (resource.Type === 'AWS::KMS::Key') physical[id] = { name: id, arn: arn('kms', `key/${id}`), attributes: { KeyId: id } };
    if (resource.Type === 'AWS::IAM::ManagedPolicy') physical[id] = { name: `arn:${partition}:iam::${account}:policy/${id}` };
    // Queues exist only in AWS (the local stack keeps dead letters as files); their ARNs still resolve.
    if (resource.Type === 'AWS::SQS::Queue') {
      const name = `ferry-local-${id}`;
      physical[id] = { name: `https://sqs.${region}.amazonaws.com/${account}/${name}`, arn: arn('sqs', name), attributes: { QueueName: name } };
    }
    if (resource.Type === 'AWS::S3::Bucket') {
      const name = options.buckets[id];
      if (!name) throw new Error(`local IAM: no local bucket for ${id}`);
      physical[id] = { name, arn: `arn:${partition}:s3:::${name}` };
    }
  }
  const tableNames = localTableNames(tables, `ferry-${stage}`);
  for (const [id, name] of Object.entries(tableNames)) physical[id] = { name, arn: arn('dynamodb', `table/${name}`) };
  for (const key of Object.keys(config.functions)) {
    const fn = { name: functionName(key), arn: functionArn(key) };
    physical[key] = fn;
    physical[functionLogicalId(key)] = fn;
  }
  const prefix = `ferry-${stage}`;
  const resolution: LocalResolution = {
    partition,
    region,
    account,
    stackName: prefix,
    physical,
    imports: {
      [`${prefix}-SearchDomainArn`]: arn('es', `domain/${prefix}`),
      [`${prefix}-SearchDomainEndpoint`]: `search-${prefix}.${region}.es.amazonaws.com`,
      // The pool the local stack signs in with under AUTH_MODE=cognito (moto_server); unused with the local issuer.
      [`${prefix}-UserPoolId`]: process.env.COGNITO_USER_POOL_ID || 'local-user-pool',
    },
  };

  const resolvedRoles = resolveRoles(config.resources, resolution);
  const functionRoles: Record<string, LocalRole> = {};
  for (const [key, fn] of Object.entries(config.functions)) {
    if (!fn.role) continue;
    const role = resolvedRoles[fn.role];
    if (!role) throw new Error(`local IAM: function ${key}'s role ${fn.role} is not an AWS::IAM::Role of serverless.yml`);
    functionRoles[key] = { name: role.name, policies: role.policies, session: functionName(key), account };
  }

  const stateMachineRoles: Record<string, LocalRole> = {};
  for (const machine of Object.values(config.stateMachines)) {
    const name = String(machine.name);
    const role = stateMachineRole(
      { name, definition: machine.definition, ...(Array.isArray(machine.iamRoleStatements) ? { iamRoleStatements: machine.iamRoleStatements } : {}) },
      resolution,
    );
    stateMachineRoles[name] = { name: role.name, policies: role.policies, account };
  }

  const scope: IamScope = {
    partition,
    region,
    account,
    tables: Object.fromEntries(
      Object.entries(tables).map(([id, table]) => {
        const hash = (schema: TableResource['Properties']['KeySchema']) => schema.find((k) => k.KeyType === 'HASH')?.AttributeName ?? '';
        const indexes = Object.fromEntries((table.Properties.GlobalSecondaryIndexes ?? []).map((index) => [index.IndexName, hash(index.KeySchema)]));
        return [tableNames[id]!, { partitionKey: hash(table.Properties.KeySchema), indexes }];
      }),
    ),
    bucketKeys: Object.fromEntries(
      Object.entries(config.resources).flatMap(([id, resource]) => {
        const encryption = resource.Type === 'AWS::S3::Bucket' ? JSON.stringify(resource.Properties?.BucketEncryption ?? {}) : '';
        const key = /"KMSMasterKeyID":(\{[^}]*\})/.exec(encryption)?.[1];
        return key ? [[physical[id]!.name, String(resolveIntrinsics(JSON.parse(key), resolution))]] : [];
      }),
    ),
    webSocketApi: { apiId: 'local', stage },
  };
  return { scope, resolution, functionRoles, stateMachineRoles, functionArn };
}
