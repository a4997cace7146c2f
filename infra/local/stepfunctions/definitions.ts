/**
 * Loads the workflow definitions for the local Step Functions service from the same files AWS uses:
 * `statemachines/*.asl.yaml` (with serverless-style `Fn::GetAtt: [<function key>, Arn]` Resources)
 * and `serverless.yml` (`functions.<key>.handler` → the module and export to run locally).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';

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

// CloudFormation short-form tags (`!Ref x`, `!GetAtt a.b`, `!Sub …`) read as their long form, so any
// CloudFormation that serverless.yml carries parses instead of failing.
const CFN_FUNCTIONS = [
  'Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub',
  'Transform', 'And', 'Equals', 'If', 'Not', 'Or',
];

const intrinsicKey = (name: string): string => (name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`);

const cloudFormationTags = (): (ScalarTag | CollectionTag)[] =>
  ['Ref', 'Condition', ...CFN_FUNCTIONS].flatMap((name): (ScalarTag | CollectionTag)[] => {
    const key = intrinsicKey(name);
    return [
      {
        tag: `!${name}`,
        resolve: (value: string) => ({ [key]: name === 'GetAtt' ? value.split('.') : value }),
      },
      { tag: `!${name}`, collection: 'seq', resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [key]: node.toJSON() }) },
      { tag: `!${name}`, collection: 'map', resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [key]: node.toJSON() }) },
    ];
  });

/** Parses YAML that may hold anchors/merge keys, `${…}` serverless variables (kept as text) and CFN tags. */
export const parseInfraYaml = (source: string): unknown =>
  parse(source, { merge: true, customTags: cloudFormationTags(), logLevel: 'error', maxAliasCount: -1 });

export interface ServerlessFunction {
  /** As written in serverless.yml, e.g. `functions/export/generate-csv-report.handler`. */
  handler: string;
  /** Absolute path of the TypeScript module, e.g. `/repo/functions/export/generate-csv-report.ts`. */
  modulePath: string;
  /** The module's export to call, e.g. `handler`. */
  exportName: string;
  /** Lambda's timeout, for the context's getRemainingTimeInMillis (serverless's default is 6 s). */
  timeoutSeconds: number;
  /** `httpApi` events, for the local gateway. */
  httpRoutes: { method: string; path: string; authorized: boolean }[];
  /** `websocket` routes such as `$connect`, for the local gateway. */
  websocketRoutes: string[];
}

const eventsOf = (definition: Record<string, unknown>): Record<string, unknown>[] =>
  Array.isArray(definition.events) ? definition.events.filter(isRecord) : [];

/** Maps each serverless.yml function key to its handler module and export. */
export const loadServerlessFunctions = (serverlessYmlPath: string): Record<string, ServerlessFunction> => {
  const rootDir = path.dirname(path.resolve(serverlessYmlPath));
  const document = parseInfraYaml(readFileSync(serverlessYmlPath, 'utf8'));
  const functions = isRecord(document) ? document.functions : undefined;
  if (!isRecord(functions)) throw new Error(`${serverlessYmlPath} has no "functions" section`);
  return Object.fromEntries(
    Object.entries(functions).map(([key, definition]) => {
      if (!isRecord(definition) || typeof definition.handler !== 'string') throw new Error(`serverless.yml function "${key}" has no handler`);
      const handler = definition.handler;
      const dot = handler.lastIndexOf('.');
      if (dot <= 0) throw new Error(`serverless.yml function "${key}" handler "${handler}" is not <module>.<export>`);
      const events = eventsOf(definition);
      const fn: ServerlessFunction = {
        handler,
        modulePath: path.join(rootDir, `${handler.slice(0, dot)}.ts`),
        exportName: handler.slice(dot + 1),
        timeoutSeconds: typeof definition.timeout === 'number' ? definition.timeout : 6,
        httpRoutes: events.flatMap((event) =>
          isRecord(event.httpApi)
            ? [{ method: String(event.httpApi.method).toUpperCase(), path: String(event.httpApi.path), authorized: Boolean(event.httpApi.authorizer) }]
            : [],
        ),
        websocketRoutes: events.flatMap((event) => (isRecord(event.websocket) ? [String(event.websocket.route)] : [])),
      };
      return [key, fn];
    }),
  );
};

/**
 * An invoker for LocalStepFunctions that imports each handler module on first use and calls its export
 * with the payload, as Lambda would.
 */
export const handlerModuleInvoker = (
  functions: Record<string, ServerlessFunction>,
): ((functionKey: string, payload: unknown) => Promise<unknown>) => {
  const loaded = new Map<string, Promise<(event: unknown, context?: unknown) => unknown>>();
  const load = (functionKey: string) => {
    const fn = functions[functionKey];
    if (!fn) return Promise.reject(new Error(`No function "${functionKey}" in serverless.yml`));
    let handler = loaded.get(functionKey);
    if (!handler) {
      handler = import(pathToFileURL(fn.modulePath).href).then((module: Record<string, unknown>) => {
        const exported = module[fn.exportName];
        if (typeof exported !== 'function') throw new Error(`${fn.modulePath} does not export "${fn.exportName}"`);
        return exported as (event: unknown, context?: unknown) => unknown;
      });
      loaded.set(functionKey, handler);
    }
    return handler;
  };
  return async (functionKey, payload) => {
    const handler = await load(functionKey);
    const started = Date.now();
    const timeoutMs = (functions[functionKey]?.timeoutSeconds ?? 6) * 1000;
    return handler(payload, {
      functionName: `ferry-local-${functionKey}`,
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started),
    });
  };
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
  const resolved = resolveIntrinsics(document, (functionKey) => localLambdaArn(region, accountId, functionKey), aslPath);
  if (!isRecord(resolved) || typeof resolved.StartAt !== 'string' || !isRecord(resolved.States)) {
    throw new Error(`${aslPath} is not a state machine definition (StartAt and States are required)`);
  }
  return resolved as unknown as StateMachineDefinition;
};

const resolveIntrinsics = (value: unknown, arnOf: (functionKey: string) => string, source: string): unknown => {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, arnOf, source));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const target = value['Fn::GetAtt'];
    const [resource, attribute] = Array.isArray(target) ? target : [];
    if (typeof resource !== 'string' || attribute !== 'Arn') {
      throw new Error(`${source}: only Fn::GetAtt [<function key>, Arn] is supported, got ${JSON.stringify(target)}`);
    }
    return arnOf(resource);
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveIntrinsics(item, arnOf, source)]));
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
