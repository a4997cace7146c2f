import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  ScanCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import type { TableProperties, TableResource } from './table-resources';

/**
 * Creates the local tables from serverless.yml's own `AWS::DynamoDB::Table` definitions, so the local
 * keys and indexes are the deployed ones. Properties that change nothing an adapter can observe
 * locally are not applied; each table lists them in `ignored` (today: SSESpecification,
 * PointInTimeRecoverySpecification; StreamSpecification, Tags, TableClass… would be too).
 */
export interface LocalTable {
  logicalId: string;
  tableName: string;
  /** The TTL attribute (epoch seconds), when the definition enables one. */
  ttlAttribute?: string;
  /** 'native': the server expires items itself; 'sweep': it cannot (dynalite), so call sweepExpiredItems. */
  ttl?: 'native' | 'sweep';
  /** Properties of the definition not applied locally. */
  ignored: string[];
}

const APPLIED = new Set(['TableName', 'BillingMode', 'AttributeDefinitions', 'KeySchema', 'GlobalSecondaryIndexes', 'TimeToLiveSpecification', 'ProvisionedThroughput']);

/** `AuditTable` → `ferry-local-audit`: the names the local stack gives the tables serverless.yml declares. */
export function localTableNames(tables: Record<string, TableResource>, prefix = 'ferry-local'): Record<string, string> {
  return Object.fromEntries(
    Object.keys(tables).map((logicalId) => [
      logicalId,
      `${prefix}-${logicalId.replace(/Table$/, '').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`,
    ]),
  );
}

/**
 * Creates each table unless it exists (data under the data directory survives restarts), then waits
 * until it is ACTIVE. An existing table whose keys or indexes differ from the definition is an error
 * naming the difference: dynalite cannot add an index to a table, and silently keeping the old shape
 * would make queries fail later and further from the cause.
 */
export async function ensureTables(
  client: DynamoDBClient,
  tables: Record<string, TableResource>,
  names: Record<string, string>,
): Promise<LocalTable[]> {
  const unnamed = Object.keys(tables).filter((logicalId) => !names[logicalId]);
  if (unnamed.length > 0) throw new Error(`No local table name for ${unnamed.join(', ')} (serverless.yml declares them).`);
  const undeclared = Object.keys(names).filter((logicalId) => !tables[logicalId]);
  if (undeclared.length > 0) throw new Error(`serverless.yml declares no AWS::DynamoDB::Table ${undeclared.join(', ')}.`);

  const created: LocalTable[] = [];
  for (const [logicalId, resource] of Object.entries(tables)) {
    const tableName = names[logicalId]!;
    const input = createTableInput(tableName, resource.Properties);
    try {
      await client.send(new CreateTableCommand(input));
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
    }
    const description = await waitUntilActive(client, tableName);
    const difference = differenceFrom(input, description);
    if (difference) {
      throw new Error(
        `Local table ${tableName} (${logicalId}) was created from another definition: ${difference}. ` +
          'Delete the local DynamoDB data (<data dir>/dynamodb) to recreate it.',
      );
    }
    created.push({
      logicalId,
      tableName,
      ...(await applyTimeToLive(client, tableName, resource.Properties.TimeToLiveSpecification)),
      ignored: Object.keys(resource.Properties).filter((key) => !APPLIED.has(key)),
    });
  }
  return created;
}

function createTableInput(tableName: string, properties: TableProperties): CreateTableCommandInput {
  const provisioned = properties.BillingMode !== 'PAY_PER_REQUEST' && properties.ProvisionedThroughput;
  return {
    TableName: tableName,
    AttributeDefinitions: properties.AttributeDefinitions,
    KeySchema: properties.KeySchema,
    ...(properties.GlobalSecondaryIndexes?.length
      ? {
          GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes.map((index) => ({
            IndexName: index.IndexName,
            KeySchema: index.KeySchema,
            Projection: index.Projection,
            ...(provisioned ? { ProvisionedThroughput: provisioned as CreateTableCommandInput['ProvisionedThroughput'] } : {}),
          })),
        }
      : {}),
    ...(provisioned
      ? { BillingMode: 'PROVISIONED', ProvisionedThroughput: provisioned as CreateTableCommandInput['ProvisionedThroughput'] }
      : { BillingMode: 'PAY_PER_REQUEST' }),
  };
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return Table;
    if (attempt >= 500) throw new Error(`Local table ${tableName} did not become ACTIVE (${Table?.TableStatus}).`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const keysOf = (schema: { AttributeName?: string; KeyType?: string }[] | undefined): string =>
  (schema ?? []).map((key) => `${key.AttributeName}:${key.KeyType}`).join(',');

function differenceFrom(wanted: CreateTableCommandInput, actual: TableDescription): string | undefined {
  if (keysOf(wanted.KeySchema) !== keysOf(actual.KeySchema)) return `key ${keysOf(actual.KeySchema)}, defined ${keysOf(wanted.KeySchema)}`;
  const actualIndexes = new Map((actual.GlobalSecondaryIndexes ?? []).map((index) => [index.IndexName, keysOf(index.KeySchema)]));
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    const keys = actualIndexes.get(index.IndexName);
    if (keys === undefined) return `no index ${index.IndexName}`;
    if (keys !== keysOf(index.KeySchema)) return `index ${index.IndexName} has key ${keys}, defined ${keysOf(index.KeySchema)}`;
    actualIndexes.delete(index.IndexName);
  }
  const extra = [...actualIndexes.keys()];
  return extra.length > 0 ? `index ${extra.join(', ')} is not in the definition` : undefined;
}

async function applyTimeToLive(
  client: DynamoDBClient,
  tableName: string,
  specification: TableProperties['TimeToLiveSpecification'],
): Promise<Pick<LocalTable, 'ttlAttribute' | 'ttl'>> {
  if (!specification?.Enabled || !specification.AttributeName) return {};
  const ttlAttribute = specification.AttributeName;
  try {
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true } }));
    return { ttlAttribute, ttl: 'native' };
  } catch (error) {
    const name = (error as { name?: string }).name;
    // dynalite has no UpdateTimeToLive; a server that already has TTL on says so with a ValidationException.
    if (name === 'UnknownOperationException') return { ttlAttribute, ttl: 'sweep' };
    if (name === 'ValidationException' && /already enabled/i.test(String((error as Error).message))) return { ttlAttribute, ttl: 'native' };
    throw error;
  }
}

/**
 * Deletes the items whose TTL attribute (epoch seconds) is at or before `now`, as DynamoDB's TTL does,
 * for the local sweeper to call on the tables ensureTables reports with `ttl: 'sweep'`. DynamoDB deletes
 * expired items only within days (typically ~48 h), so Ferry must never rely on an expired item being
 * gone: readers check `expiresAt` themselves where it matters. Each delete is conditional on the item
 * still being expired, so a TTL extended between the scan and the delete is kept. Returns how many it deleted.
 */
export async function sweepExpiredItems(client: DynamoDBClient, table: string, ttlAttribute: string, now: Date): Promise<number> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
  const keyNames = (Table?.KeySchema ?? []).map((key) => key.AttributeName!);
  const names = { '#ttl': ttlAttribute };
  const values = { ':now': { N: String(Math.floor(now.getTime() / 1000)) } };
  let deleted = 0;
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        // A TTL attribute that is not a number never expires in DynamoDB; `<=` on a number only matches numbers.
        FilterExpression: '#ttl <= :now',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: table,
            Key: Object.fromEntries(keyNames.map((name) => [name, item[name]!])),
            ConditionExpression: '#ttl <= :now',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
        deleted += 1;
      } catch (error) {
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return deleted;
}
