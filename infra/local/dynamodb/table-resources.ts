import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseInfraYaml } from '../stepfunctions/definitions';

/**
 * The `AWS::DynamoDB::Table` resources serverless.yml declares, read the way the local stack reads the
 * rest of it. The one place that knows where the YAML parser lives, and how `${file(...)}` includes of
 * resource files are written, so either can move without touching the table code.
 */
export interface TableResource {
  Type: 'AWS::DynamoDB::Table';
  Properties: TableProperties;
}

/** The CloudFormation Properties the local tables are built from (others are listed in tables.ts as ignored). */
export interface TableProperties {
  TableName?: unknown;
  BillingMode?: string;
  AttributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  GlobalSecondaryIndexes?: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };
  }[];
  TimeToLiveSpecification?: { AttributeName?: string; Enabled: boolean };
  [ignored: string]: unknown;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

// `${file(path)}` or `${file(path):Key.Sub}`, the whole value: Serverless's include of another YAML file.
const FILE_INCLUDE = /^\$\{file\(([^)]+)\)(?::([\w.]+))?\}$/;

function resolveIncludes(value: unknown, baseDir: string): unknown {
  if (typeof value === 'string') {
    const include = FILE_INCLUDE.exec(value.trim());
    if (!include) return value;
    const file = resolve(baseDir, include[1]!.trim());
    let included = parseInfraYaml(readFileSync(file, 'utf8'));
    for (const key of include[2]?.split('.') ?? []) included = isRecord(included) ? included[key] : undefined;
    return resolveIncludes(included, dirname(file));
  }
  if (Array.isArray(value)) return value.map((item) => resolveIncludes(item, baseDir));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveIncludes(item, baseDir)]));
  return value;
}

/** logicalId → table resource, from serverless.yml's `resources` (an object, or a list of included files). */
export function readTableResources(serverlessYmlPath: string): Record<string, TableResource> {
  const path = resolve(serverlessYmlPath);
  const document = parseInfraYaml(readFileSync(path, 'utf8'));
  const resources = resolveIncludes(isRecord(document) ? document.resources : undefined, dirname(path));
  const sections = Array.isArray(resources) ? resources : [resources];
  const tables: Record<string, TableResource> = {};
  for (const section of sections) {
    const declared = isRecord(section) && isRecord(section.Resources) ? section.Resources : {};
    for (const [logicalId, resource] of Object.entries(declared)) {
      if (isRecord(resource) && resource.Type === 'AWS::DynamoDB::Table' && isRecord(resource.Properties)) {
        tables[logicalId] = resource as unknown as TableResource;
      }
    }
  }
  return tables;
}
