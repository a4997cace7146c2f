import { isRecord } from '../infra-yaml';
import { loadServerlessConfig } from '../serverless-config';

/**
 * The `AWS::DynamoDB::Table` resources serverless.yml declares, read by the same reader the local stack
 * uses for the rest of it (infra/local/serverless-config.ts).
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

/** logicalId → table resource, from serverless.yml's `resources` with its `${file(...)}` includes merged. */
export function readTableResources(serverlessYmlPath: string): Record<string, TableResource> {
  const resources = loadServerlessConfig(serverlessYmlPath).resources;
  const tables: Record<string, TableResource> = {};
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::DynamoDB::Table' && isRecord(resource.Properties)) tables[logicalId] = resource as unknown as TableResource;
  }
  return tables;
}
