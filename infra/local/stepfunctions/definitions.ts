/**
 * Loads the workflow definitions for the local Step Functions service from the same files AWS uses:
 * `statemachines/*.asl.yaml`, with serverless-style `Fn::GetAtt: [<function key>, Arn]` Resources
 * (the functions themselves come from serverless.yml: ../serverless-config.ts).
 */
import { readFileSync } from 'node:fs';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { isRecord, parseInfraYaml } from '../infra-yaml';

export const DEFAULT_ACCOUNT_ID = '000000000000';
const LOCAL_FUNCTION_PREFIX = 'ferry-local-';

export const localLambdaArn = (region: string, accountId: string, functionKey: string): string =>
  `arn:aws:lambda:${region}:${accountId}:function:${LOCAL_FUNCTION_PREFIX}${functionKey}`;

/**
 * The serverless function key behind a Lambda ARN, a function name or a bare key
 * (`arn:aws:lambda:…:function:ferry-local-<key>[:qualifier]`, `ferry-local-<key>`, `<key>`).
 */
export const functionKeyOf = (arnOrName: string): string => {
  const arnMatch = /^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/.exec(arnOrName);
  const name = arnMatch?.[1] ?? arnOrName;
  return name.startsWith(LOCAL_FUNCTION_PREFIX) ? name.slice(LOCAL_FUNCTION_PREFIX.length) : name;
};

/**
 * Reads an ASL YAML file and replaces every `Fn::GetAtt: [<function key>, Arn]` (anywhere, including in
 * Parameters) with the local Lambda ARN of that function.
 */
export const loadStateMachineDefinition = (
  aslPath: string,
  { region, accountId = DEFAULT_ACCOUNT_ID }: { region: string; accountId?: string },
): StateMachineDefinition => {
  const document = parseInfraYaml(readFileSync(aslPath, 'utf8'));
  const pseudo = { 'AWS::Partition': 'aws', 'AWS::Region': region, 'AWS::AccountId': accountId };
  const resolved = resolveIntrinsics(document, (functionKey) => localLambdaArn(region, accountId, functionKey), aslPath, pseudo);
  if (!isRecord(resolved) || typeof resolved.StartAt !== 'string' || !isRecord(resolved.States)) {
    throw new Error(`${aslPath} is not a state machine definition (StartAt and States are required)`);
  }
  return resolved as unknown as StateMachineDefinition;
};

const resolveIntrinsics = (value: unknown, arnOf: (functionKey: string) => string, source: string, pseudo: Readonly<Record<string, string>>): unknown => {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, arnOf, source, pseudo));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  // `!Sub arn:${AWS::Partition}:…`: the ASL names no partition of its own.
  if (keys.length === 1 && keys[0] === 'Fn::Sub' && typeof value['Fn::Sub'] === 'string') {
    return value['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
      const found = pseudo[name];
      if (found === undefined) throw new Error(`${source}: only pseudo parameters are supported in Fn::Sub, got ${whole}`);
      return found;
    });
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const target = value['Fn::GetAtt'];
    const [resource, attribute] = Array.isArray(target) ? target : [];
    if (typeof resource !== 'string' || attribute !== 'Arn') {
      throw new Error(`${source}: only Fn::GetAtt [<function key>, Arn] is supported, got ${JSON.stringify(target)}`);
    }
    return arnOf(resource);
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveIntrinsics(item, arnOf, source, pseudo)]));
};
