/**
 * What the local stack reads from serverless.yml, the file AWS is deployed from: each function's handler
 * module and export, its timeout, its HTTP/WebSocket routes and EventBridge rules, its role, and the
 * CloudFormation resources (included from infra/aws/resources/ with `${file(...)}`).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { asFunction } from './iam/wiring';
import { isRecord, parseInfraYaml } from './infra-yaml';

export interface ServerlessFunction {
  /** As written in serverless.yml, e.g. `functions/export/generate-csv-report.handler`. */
  handler: string;
  /** Absolute path of the TypeScript module, e.g. `/repo/functions/export/generate-csv-report.ts`. */
  modulePath: string;
  /** The module's export to call, e.g. `handler`. */
  exportName: string;
  /** Lambda's timeout (the function's, else the provider's, else serverless's default of 6 s). */
  timeoutSeconds: number;
  /** Lambda's memorySize in MB (the function's, else the provider's, else serverless's default of 1024). */
  memorySizeMb: number;
  /** `httpApi` events, for the local gateway. */
  httpRoutes: { method: string; path: string; authorized: boolean }[];
  /** `websocket` routes such as `$connect`, for the local gateway. */
  websocketRoutes: string[];
  /** `eventBridge` event patterns, as written (CloudFormation `Ref`s unresolved). */
  eventPatterns: unknown[];
  /** Lambda's retries of an async invocation whose handler threw (`maximumRetryAttempts`; Lambda's default is 2). */
  asyncRetryAttempts: number;
  /** The logical id of the function's IAM role (`role:`), if it has one. */
  role?: string;
}

export interface CloudFormationResource {
  Type: string;
  Properties?: Record<string, unknown>;
  [attribute: string]: unknown;
}

export interface PolicyStatement {
  Effect: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ServerlessConfig {
  functions: Record<string, ServerlessFunction>;
  /** `resources.Resources`, merged over every included fragment. */
  resources: Record<string, CloudFormationResource>;
  /**
   * The statements a function's role grants: its inline policies and the managed policies this stack
   * defines, as written (intrinsics and `${…}` variables unresolved).
   */
  roleStatementsOf(functionKey: string): PolicyStatement[];
  /** `stepFunctions.stateMachines` by key, each definition included from statemachines/. */
  stateMachines: Record<string, Record<string, unknown>>;
}

// `${file(./path.yml)}` or `${file(./path.yml):some.key}`, the only variable the local stack resolves:
// paths are relative to the service directory, as in Serverless v3.
const FILE_VARIABLE = /^\$\{file\(([^)]+)\)(?::([\w.-]+))?\}$/;

const resolveFileIncludes = (value: unknown, serviceDir: string, including: string[]): unknown => {
  if (Array.isArray(value)) return value.map((item) => resolveFileIncludes(item, serviceDir, including));
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveFileIncludes(item, serviceDir, including)]));
  }
  const match = typeof value === 'string' ? FILE_VARIABLE.exec(value.trim()) : null;
  if (!match) return value;
  const file = path.resolve(serviceDir, match[1]!.trim());
  if (including.includes(file)) throw new Error(`${file} includes itself through ${including.join(' → ')}`);
  let included = resolveFileIncludes(parseInfraYaml(readFileSync(file, 'utf8')), serviceDir, [...including, file]);
  for (const key of match[2]?.split('.') ?? []) {
    if (!isRecord(included) || !(key in included)) throw new Error(`${value as string}: ${file} has no "${match[2]}"`);
    included = included[key];
  }
  return included;
};

/** serverless.yml as Serverless reads it, with every `${file(...)}` replaced by what it includes. */
export const readServerlessYml = (serverlessYmlPath: string): Record<string, unknown> => {
  const absolute = path.resolve(serverlessYmlPath);
  const document = resolveFileIncludes(parseInfraYaml(readFileSync(absolute, 'utf8')), path.dirname(absolute), [absolute]);
  if (!isRecord(document)) throw new Error(`${serverlessYmlPath} is not a YAML mapping`);
  return document;
};

export interface VariableSources {
  /** `${sls:stage}`, and `${opt:stage, …}` when no --stage is given. */
  stage: string;
  /** `${opt:<name>, default}` options (CLI flags); absent ones take the default. */
  options?: Readonly<Record<string, string>>;
}

// Serverless v3 sources the local stack resolves; any other `${…}` (CloudFormation's `${AWS::Region}`, a
// Fn::Sub variable) is left for the intrinsics resolver.
const SERVERLESS_VARIABLE = /\$\{(self|sls|param|opt):([^}]+)\}/g;

/**
 * serverless.yml with `${self:…}`, `${self:service}`, `${sls:stage}`, `${param:…}` (from `params.default`)
 * and `${opt:name, default}` resolved as `serverless package` resolves them. A string that is one
 * variable takes the variable's value as is (an object such as a `!Sub` stays an object).
 */
export const resolveServerlessVariables = (document: Record<string, unknown>, sources: VariableSources): Record<string, unknown> => {
  const params = isRecord(document.params) && isRecord(document.params.default) ? document.params.default : {};
  const lookup = (source: string, address: string, seen: string[]): unknown => {
    const [name = '', fallback] = address.split(',').map((part) => part.trim());
    const key = `${source}:${name}`;
    if (seen.includes(key)) throw new Error(`serverless.yml: \${${key}} refers to itself through ${seen.join(' → ')}`);
    let value: unknown;
    if (source === 'self') {
      value = document;
      for (const part of name.split('.')) value = isRecord(value) ? value[part] : undefined;
    } else if (source === 'sls' && name === 'stage') value = sources.stage;
    else if (source === 'param') value = params[name];
    else if (source === 'opt') value = name === 'stage' ? (sources.options?.stage ?? sources.stage) : sources.options?.[name];
    if (value === undefined && fallback !== undefined) value = fallback.replace(/^['"]|['"]$/g, '');
    if (value === undefined) throw new Error(`serverless.yml: cannot resolve \${${source}:${address}}`);
    return resolve(value, [...seen, key]);
  };
  const resolve = (value: unknown, seen: string[]): unknown => {
    if (Array.isArray(value)) return value.map((item) => resolve(item, seen));
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolve(item, seen)]));
    if (typeof value !== 'string') return value;
    const whole = /^\$\{(self|sls|param|opt):([^}]+)\}$/.exec(value);
    if (whole) return lookup(whole[1]!, whole[2]!, seen);
    return value.replace(SERVERLESS_VARIABLE, (_, source: string, address: string) => {
      const resolved = lookup(source, address, seen);
      if (typeof resolved === 'object' && resolved !== null) throw new Error(`serverless.yml: \${${source}:${address}} is an object inside the string "${value}"`);
      return String(resolved);
    });
  };
  return resolve(document, []) as Record<string, unknown>;
};

/** `resources` is one CloudFormation fragment or (with includes) a list of them; Serverless merges a list. */
const mergedResources = (resources: unknown): Record<string, CloudFormationResource> => {
  const fragments = Array.isArray(resources) ? resources : [resources];
  const merged: Record<string, CloudFormationResource> = {};
  for (const fragment of fragments.filter(isRecord)) {
    for (const [id, resource] of Object.entries(isRecord(fragment.Resources) ? fragment.Resources : {})) {
      if (id in merged) throw new Error(`resource "${id}" is defined twice in serverless.yml's resources`);
      if (isRecord(resource) && typeof resource.Type === 'string') merged[id] = resource as CloudFormationResource;
    }
  }
  return merged;
};

const eventsOf = (definition: Record<string, unknown>): Record<string, unknown>[] =>
  Array.isArray(definition.events) ? definition.events.filter(isRecord) : [];

const functionOf = (rootDir: string, key: string, definition: unknown, provider: Record<string, unknown>): ServerlessFunction => {
  if (!isRecord(definition) || typeof definition.handler !== 'string') throw new Error(`serverless.yml function "${key}" has no handler`);
  const handler = definition.handler;
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) throw new Error(`serverless.yml function "${key}" handler "${handler}" is not <module>.<export>`);
  const events = eventsOf(definition);
  return {
    handler,
    modulePath: path.join(rootDir, `${handler.slice(0, dot)}.ts`),
    exportName: handler.slice(dot + 1),
    timeoutSeconds: typeof definition.timeout === 'number' ? definition.timeout : typeof provider.timeout === 'number' ? provider.timeout : 6,
    memorySizeMb: typeof definition.memorySize === 'number' ? definition.memorySize : typeof provider.memorySize === 'number' ? provider.memorySize : 1024,
    httpRoutes: events.flatMap((event) =>
      isRecord(event.httpApi)
        ? [{ method: String(event.httpApi.method).toUpperCase(), path: String(event.httpApi.path), authorized: Boolean(event.httpApi.authorizer) }]
        : [],
    ),
    websocketRoutes: events.flatMap((event) => (isRecord(event.websocket) ? [String(event.websocket.route)] : [])),
    eventPatterns: events.flatMap((event) => (isRecord(event.eventBridge) && event.eventBridge.pattern ? [event.eventBridge.pattern] : [])),
    asyncRetryAttempts: typeof definition.maximumRetryAttempts === 'number' ? definition.maximumRetryAttempts : 2,
    ...(typeof definition.role === 'string' ? { role: definition.role } : {}),
  };
};

const statementsOf = (policyDocument: unknown): PolicyStatement[] => {
  const statement = isRecord(policyDocument) ? policyDocument.Statement : undefined;
  return (Array.isArray(statement) ? statement : statement === undefined ? [] : [statement]).filter(isRecord) as PolicyStatement[];
};

/** With `variables`, the Serverless variables are resolved (local IAM needs them); without, kept as written. */
export const loadServerlessConfig = (serverlessYmlPath: string, variables?: VariableSources): ServerlessConfig => {
  const rootDir = path.dirname(path.resolve(serverlessYmlPath));
  const read = readServerlessYml(serverlessYmlPath);
  const document = variables ? resolveServerlessVariables(read, variables) : read;
  if (!isRecord(document.functions)) throw new Error(`${serverlessYmlPath} has no "functions" section`);
  const provider = isRecord(document.provider) ? document.provider : {};
  const functions = Object.fromEntries(
    Object.entries(document.functions).map(([key, definition]) => [key, functionOf(rootDir, key, definition, provider)]),
  );
  const resources = mergedResources(document.resources);
  const roleStatementsOf = (functionKey: string): PolicyStatement[] => {
    const fn = functions[functionKey];
    if (!fn) throw new Error(`No function "${functionKey}" in serverless.yml`);
    if (!fn.role) return [];
    const role = resources[fn.role];
    if (role?.Type !== 'AWS::IAM::Role') throw new Error(`function "${functionKey}": role "${fn.role}" is not an AWS::IAM::Role of serverless.yml`);
    const inline = (Array.isArray(role.Properties?.Policies) ? role.Properties.Policies : []).flatMap((policy: unknown) =>
      statementsOf(isRecord(policy) ? policy.PolicyDocument : undefined),
    );
    const managed = (Array.isArray(role.Properties?.ManagedPolicyArns) ? role.Properties.ManagedPolicyArns : []).flatMap((arn: unknown) => {
      const policy = isRecord(arn) && typeof arn.Ref === 'string' ? resources[arn.Ref] : undefined;
      // AWS-managed policies (plain ARNs) are not in this file; the next step of local IAM decides about them.
      return policy?.Type === 'AWS::IAM::ManagedPolicy' ? statementsOf(policy.Properties?.PolicyDocument) : [];
    });
    return [...managed, ...inline];
  };
  const machines = isRecord(document.stepFunctions) && isRecord(document.stepFunctions.stateMachines) ? document.stepFunctions.stateMachines : {};
  const stateMachines = Object.fromEntries(Object.entries(machines).filter((entry): entry is [string, Record<string, unknown>] => isRecord(entry[1])));
  return { functions, resources, roleStatementsOf, stateMachines };
};

/** Maps each serverless.yml function key to its handler module and export. */
export const loadServerlessFunctions = (serverlessYmlPath: string): Record<string, ServerlessFunction> =>
  loadServerlessConfig(serverlessYmlPath).functions;

/** Lambda's 6 MB quota on a synchronous invocation's request and response payloads. */
const LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

const lambdaError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

/**
 * An invoker for the local gateway, Step Functions and event rules that imports each handler module on
 * first use and calls its export with the payload, as Lambda would, within Lambda's limits: the
 * function's timeout (`Sandbox.Timedout`) and 6 MB request/response payloads, with the error names a
 * Step Functions Task sees. A timed-out handler is not killed (it shares the process); its late result is dropped.
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
    const requestBytes = Buffer.byteLength(JSON.stringify(payload ?? null));
    if (requestBytes > LAMBDA_PAYLOAD_LIMIT_BYTES) {
      throw lambdaError(
        'Lambda.RequestTooLargeException',
        `Request must be smaller than ${LAMBDA_PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation (was ${requestBytes})`,
      );
    }
    const handler = await load(functionKey);
    const started = Date.now();
    const timeoutSeconds = functions[functionKey]?.timeoutSeconds ?? 6;
    const timeoutMs = timeoutSeconds * 1000;
    const awsRequestId = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(lambdaError('Sandbox.Timedout', `RequestId: ${awsRequestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`)),
        timeoutMs,
      );
    });
    let result: unknown;
    try {
      result = await Promise.race([
        // As Lambda does: the invocation runs with its function's role (local IAM, when installed).
        Promise.resolve(
          asFunction(functionKey, () =>
            handler(payload, {
              functionName: `ferry-local-${functionKey}`,
              awsRequestId,
              getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started),
            }),
          ),
        ),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
    }
    const responseBytes = Buffer.byteLength(JSON.stringify(result ?? null));
    if (responseBytes > LAMBDA_PAYLOAD_LIMIT_BYTES) {
      throw lambdaError(
        'Function.ResponseSizeTooLarge',
        `Response payload size exceeded maximum allowed payload size (${LAMBDA_PAYLOAD_LIMIT_BYTES} bytes) (was ${responseBytes})`,
      );
    }
    return result;
  };
};
