/**
 * Policy documents with local ARNs from the CloudFormation that declares Ferry's roles: each
 * AWS::IAM::Role's inline Policies plus its ManagedPolicyArns (AWS::IAM::ManagedPolicy resources of the
 * same template, or AWS managed policies we know), with the intrinsics resolved against the local
 * stack's physical resources. Serverless variables (`${self:…}`, `${sls:stage}`, `${param:…}`) must be
 * resolved before (the serverless.yml reader does that); YAML anchors are expanded by the parser.
 * Also the roles serverless-step-functions generates for the state machines.
 */
import type { PolicyDocument, PolicyStatement } from './evaluate';

/** What `Ref` and `Fn::GetAtt` give for one logical id locally. */
export interface PhysicalResource {
  /** What `Ref` returns: a bucket's or table's name, a key's id, a Lambda's name, an API's id, a managed policy's or state machine's ARN. */
  name: string;
  /** `Fn::GetAtt [id, Arn]`. */
  arn?: string;
  /** Other `Fn::GetAtt` attributes. */
  attributes?: Readonly<Record<string, string>>;
}

export interface LocalResolution {
  partition: string;
  region: string;
  account: string;
  stackName?: string;
  /** Logical id (serverless function keys included, for the state machines) → the local resource. */
  physical: Readonly<Record<string, PhysicalResource>>;
  /** `Fn::ImportValue` export name → value (the infra/aws stacks' exports, faked locally). */
  imports: Readonly<Record<string, string>>;
  /** AWS managed policies by ARN, beyond the ones this module knows. */
  awsManagedPolicies?: Readonly<Record<string, PolicyDocument>>;
}

type Template = Readonly<Record<string, unknown>>;
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * AWS managed policies Ferry's roles attach, as AWS publishes them. AWSLambdaENIManagementAccess lets
 * Lambda manage the network interfaces of a function in a VPC; EC2's ENI actions take no resource.
 */
export const KNOWN_AWS_MANAGED_POLICIES: Readonly<Record<string, PolicyDocument>> = {
  'service-role/AWSLambdaENIManagementAccess': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        Resource: '*',
      },
    ],
  },
};

/** Resolves the CloudFormation intrinsics Ferry's roles use, anywhere in a value. */
export function resolveIntrinsics(value: unknown, local: LocalResolution): unknown {
  const pseudo: Record<string, string> = {
    'AWS::Partition': local.partition,
    'AWS::Region': local.region,
    'AWS::AccountId': local.account,
    'AWS::StackName': local.stackName ?? 'ferry-local',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const physical = (id: string) => {
    const resource = local.physical[id];
    if (!resource) throw new Error(`local IAM: no local resource for logical id ${id}`);
    return resource;
  };
  const ref = (id: string) => pseudo[id] ?? physical(id).name;
  const getAtt = (id: string, attribute: string) => {
    const resource = physical(id);
    const found = attribute === 'Arn' ? resource.arn : resource.attributes?.[attribute];
    if (found === undefined) throw new Error(`local IAM: ${id} has no local ${attribute}`);
    return found;
  };
  const text = (v: unknown, what: string): string => {
    const resolved = resolve(v);
    if (typeof resolved !== 'string') throw new Error(`local IAM: ${what} must resolve to a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  };
  const sub = (template: string, variables: Record<string, unknown>) =>
    template.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
      if (literal) return `\${${name}}`;
      if (name in variables) return text(variables[name], `Fn::Sub variable ${name}`);
      if (name in pseudo) return pseudo[name]!;
      const dot = name.indexOf('.');
      return dot > 0 ? getAtt(name.slice(0, dot), name.slice(dot + 1)) : ref(name);
    });

  function resolve(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(resolve);
    if (!isRecord(v)) return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const arg = v[key];
      switch (key) {
        case 'Ref':
          return ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
          return getAtt(id ?? '', attribute ?? '');
        }
        case 'Fn::Sub': {
          if (typeof arg === 'string') return sub(arg, {});
          if (Array.isArray(arg) && typeof arg[0] === 'string' && (arg[1] === undefined || isRecord(arg[1]))) return sub(arg[0], arg[1] ?? {});
          throw new Error(`local IAM: malformed Fn::Sub ${JSON.stringify(arg)}`);
        }
        case 'Fn::ImportValue': {
          const name = text(arg, 'Fn::ImportValue');
          const exported = local.imports[name];
          if (exported === undefined) throw new Error(`local IAM: no local value for the export ${name}`);
          return exported;
        }
        case 'Fn::Join': {
          if (!Array.isArray(arg) || typeof arg[0] !== 'string' || !Array.isArray(arg[1])) throw new Error(`local IAM: malformed Fn::Join`);
          return arg[1].map((part, i) => text(part, `Fn::Join part ${i}`)).join(arg[0]);
        }
        default:
          if (key.startsWith('Fn::')) throw new Error(`local IAM: unsupported intrinsic ${key}`);
      }
    }
    return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, resolve(inner)]));
  }
  return resolve(value);
}

export interface ResolvedRole {
  name: string;
  policies: PolicyDocument[];
}

function managedPolicy(arnOrRef: unknown, resources: Template, local: LocalResolution): PolicyDocument {
  if (isRecord(arnOrRef) && typeof arnOrRef.Ref === 'string') {
    const target = resources[arnOrRef.Ref];
    if (isRecord(target) && target.Type === 'AWS::IAM::ManagedPolicy' && isRecord(target.Properties)) {
      return resolveIntrinsics(target.Properties.PolicyDocument, local) as PolicyDocument;
    }
  }
  const arn = resolveIntrinsics(arnOrRef, local);
  if (typeof arn !== 'string') throw new Error(`local IAM: a managed policy ARN resolved to ${JSON.stringify(arn)}`);
  const known = local.awsManagedPolicies?.[arn] ?? KNOWN_AWS_MANAGED_POLICIES[arn.replace(/^arn:[^:]+:iam::aws:policy\//, '')];
  if (!known) throw new Error(`local IAM: unknown managed policy ${arn}`);
  return known;
}

/** Every AWS::IAM::Role of a template's Resources, by logical id, as local policy documents. */
export function resolveRoles(resources: Template, local: LocalResolution): Record<string, ResolvedRole> {
  const roles: Record<string, ResolvedRole> = {};
  for (const [id, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || resource.Type !== 'AWS::IAM::Role') continue;
    const properties = isRecord(resource.Properties) ? resource.Properties : {};
    const inline = Array.isArray(properties.Policies) ? properties.Policies : [];
    const managed = Array.isArray(properties.ManagedPolicyArns) ? properties.ManagedPolicyArns : [];
    roles[id] = {
      name: typeof properties.RoleName === 'string' ? properties.RoleName : id,
      policies: [
        ...managed.map((arn) => managedPolicy(arn, resources, local)),
        ...inline.map((policy) => {
          if (!isRecord(policy)) throw new Error(`local IAM: ${id} has a malformed inline policy`);
          return resolveIntrinsics(policy.PolicyDocument, local) as PolicyDocument;
        }),
      ],
    };
  }
  return roles;
}

// ---- The state machines' roles ---------------------------------------------------------------------

export interface StateMachineRoleInput {
  /** The state machine's name (its ARN is built from it). */
  name: string;
  /** The ASL definition (Resources as ARNs or `Fn::GetAtt [<function key>, Arn]`). */
  definition: unknown;
  /** serverless.yml's `iamRoleStatements` for this machine, if any. */
  iamRoleStatements?: unknown[];
}

/**
 * The role serverless-step-functions generates for a state machine without `role:` (Ferry's case):
 * lambda:InvokeFunction on each function a Task calls (`<arn>` and `<arn>:*`); for a Distributed Map,
 * StartExecution on the machine itself and Describe/StopExecution on its executions; then the
 * machine's `iamRoleStatements`. Logs delivery and X-Ray statements are left out: nothing local calls them.
 */
export function stateMachineRole(machine: StateMachineRoleInput, local: LocalResolution): ResolvedRole {
  const statements: PolicyStatement[] = [];
  const machineArn = `arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${machine.name}`;
  const invoke = (functionRef: unknown) => {
    const arn = resolveIntrinsics(functionRef, local);
    if (typeof arn !== 'string') throw new Error(`local IAM: a Task function resolved to ${JSON.stringify(arn)}`);
    const unqualified = arn.replace(/^(arn:[^:]+:lambda:[^:]+:[^:]+:function:[^:]+):[^:]+$/, '$1');
    statements.push({ Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [unqualified, `${unqualified}:*`] });
  };
  let distributed = false;
  const walk = (states: unknown) => {
    if (!isRecord(states)) return;
    for (const state of Object.values(states)) {
      if (!isRecord(state)) continue;
      if (state.Type === 'Task') {
        const resource = state.Resource;
        // `!Sub arn:${AWS::Partition}:states:::…`: the plugin reads only string Resources, so it generates nothing
        // for it (the machine's iamRoleStatements grant that function).
        if (isRecord(resource) && 'Fn::Sub' in resource) continue;
        if (typeof resource === 'string' && resource.startsWith(`arn:${local.partition}:states:::lambda:invoke`)) {
          const parameters = isRecord(state.Parameters) ? state.Parameters : isRecord(state.Arguments) ? state.Arguments : {};
          invoke(parameters.FunctionName);
        } else if (isRecord(resource) || (typeof resource === 'string' && /^arn:[^:]+:lambda:/.test(resource))) {
          invoke(resource);
        } else {
          throw new Error(`local IAM: no generated permission modelled for the Task resource ${JSON.stringify(resource)}`);
        }
      }
      for (const nested of [state.Iterator, state.ItemProcessor, ...(Array.isArray(state.Branches) ? state.Branches : [])]) {
        if (!isRecord(nested)) continue;
        if (isRecord(nested.ProcessorConfig) && nested.ProcessorConfig.Mode === 'DISTRIBUTED') distributed = true;
        walk(nested.States);
      }
    }
  };
  walk(isRecord(machine.definition) ? machine.definition.States : undefined);
  if (distributed) {
    statements.push(
      { Effect: 'Allow', Action: ['states:StartExecution'], Resource: machineArn },
      { Effect: 'Allow', Action: ['states:DescribeExecution', 'states:StopExecution'], Resource: `arn:${local.partition}:states:${local.region}:${local.account}:execution:${machine.name}:*` },
    );
  }
  statements.push(...(resolveIntrinsics(machine.iamRoleStatements ?? [], local) as PolicyStatement[]));
  // As the plugin does: a machine that needs nothing is denied everything.
  if (statements.length === 0) statements.push({ Effect: 'Deny', Action: '*', Resource: '*' });
  return { name: `${machine.name}-role`, policies: [{ Version: '2012-10-17', Statement: statements }] };
}

/** The request a state machine's Task makes when it invokes a function. */
export const lambdaInvokeRequest = (functionArn: string) => ({ action: 'lambda:InvokeFunction', resource: functionArn, context: {} });
