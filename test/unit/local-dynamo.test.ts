import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DescribeTableCommand, ListTablesCommand, PutItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localDynamoClients } from '../../infra/local/dynamodb/client';
import { startLocalDynamoTables } from '../../infra/local/dynamodb/local-tables';
import { startLocalDynamo, type LocalDynamo } from '../../infra/local/dynamodb/server';
import { readTableResources } from '../../infra/local/dynamodb/table-resources';
import { ensureTables, localTableNames, sweepExpiredItems } from '../../infra/local/dynamodb/tables';

const SERVERLESS_YML = resolve(import.meta.dirname, '../../serverless.yml');

const dirs: string[] = [];
const temporaryDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-dynamo-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('startLocalDynamo', () => {
  it('keeps tables and items under <dataDir>/dynamodb across a restart', async () => {
    const dataDir = temporaryDir();
    const first = await startLocalDynamo({ dataDir });
    expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const tables = readTableResources(SERVERLESS_YML);
    const one = localDynamoClients(first.endpoint);
    await ensureTables(one.client, tables, localTableNames(tables));
    await one.client.send(new PutItemCommand({ TableName: 'ferry-local-audit', Item: { pk: { S: 'USER#a' }, sk: { S: 'ENTRY#1' } } }));
    one.client.destroy();
    await first.close();

    const second = await startLocalDynamo({ dataDir });
    const two = localDynamoClients(second.endpoint);
    try {
      await ensureTables(two.client, tables, localTableNames(tables));
      const { Item } = await two.client.send(new GetItemCommand({ TableName: 'ferry-local-audit', Key: { pk: { S: 'USER#a' }, sk: { S: 'ENTRY#1' } } }));
      expect(Item).toEqual({ pk: { S: 'USER#a' }, sk: { S: 'ENTRY#1' } });
    } finally {
      two.client.destroy();
      await second.close();
    }
  });

  it('listens on the port asked for', async () => {
    const first = await startLocalDynamo();
    const port = Number(new URL(first.endpoint).port);
    await first.close();
    const again = await startLocalDynamo({ port });
    expect(again.endpoint).toBe(`http://127.0.0.1:${port}`);
    await again.close();
  });
});

describe('ensureTables from serverless.yml', () => {
  let dynamo: LocalDynamo;
  let clients: ReturnType<typeof localDynamoClients>;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    clients = localDynamoClients(dynamo.endpoint);
  });
  afterAll(async () => {
    clients.client.destroy();
    await dynamo.close();
  });

  it('reads every AWS::DynamoDB::Table and names them ferry-local-<name>', () => {
    const tables = readTableResources(SERVERLESS_YML);
    expect(localTableNames(tables)).toEqual({
      AuditTable: 'ferry-local-audit',
      ConnectionsTable: 'ferry-local-connections',
      ImportsTable: 'ferry-local-imports',
      JobsTable: 'ferry-local-jobs',
    });
  });

  it('creates the tables with the deployed keys and indexes, once, on demand, and reports TTL and what it ignored', async () => {
    const tables = readTableResources(SERVERLESS_YML);
    const names = { AuditTable: 'a-audit', ConnectionsTable: 'a-connections', ImportsTable: 'a-imports', JobsTable: 'a-jobs' };
    const created = await ensureTables(clients.client, tables, names);
    expect(created).toEqual([
      { logicalId: 'AuditTable', tableName: 'a-audit', ignored: ['SSESpecification', 'PointInTimeRecoverySpecification'] },
      { logicalId: 'ConnectionsTable', tableName: 'a-connections', ttlAttribute: 'expiresAt', ttl: 'sweep', ignored: ['SSESpecification'] },
      { logicalId: 'ImportsTable', tableName: 'a-imports', ignored: ['SSESpecification', 'PointInTimeRecoverySpecification'] },
      { logicalId: 'JobsTable', tableName: 'a-jobs', ignored: ['SSESpecification', 'PointInTimeRecoverySpecification'] },
    ]);
    expect(await ensureTables(clients.client, tables, names)).toEqual(created);

    const { Table } = await clients.client.send(new DescribeTableCommand({ TableName: 'a-imports' }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema, index.Projection])).toEqual([
      ['byBatch', [{ AttributeName: 'batchPk', KeyType: 'HASH' }, { AttributeName: 'position', KeyType: 'RANGE' }], { ProjectionType: 'ALL' }],
      ['quarantined', [{ AttributeName: 'quarantineList', KeyType: 'HASH' }, { AttributeName: 'quarantinedSort', KeyType: 'RANGE' }], { ProjectionType: 'ALL' }],
      ['resources', [{ AttributeName: 'resourceOwner', KeyType: 'HASH' }, { AttributeName: 'resourceSort', KeyType: 'RANGE' }], { ProjectionType: 'ALL' }],
      ['byOwner', [{ AttributeName: 'ownerKey', KeyType: 'HASH' }, { AttributeName: 'createdSort', KeyType: 'RANGE' }], { ProjectionType: 'ALL' }],
    ]);
    const { TableNames } = await clients.client.send(new ListTablesCommand({}));
    expect(TableNames).toEqual(expect.arrayContaining(['a-audit', 'a-connections', 'a-imports']));
  });

  it('refuses an existing table whose indexes differ from the definition, naming the difference', async () => {
    const tables = readTableResources(SERVERLESS_YML);
    await ensureTables(clients.client, { AuditTable: tables.AuditTable! }, { AuditTable: 'b-audit' });
    const changed = structuredClone(tables.AuditTable!);
    changed.Properties.GlobalSecondaryIndexes![0]!.IndexName = 'byRecordedAt';
    await expect(ensureTables(clients.client, { AuditTable: changed }, { AuditTable: 'b-audit' })).rejects.toThrow(
      /b-audit \(AuditTable\) was created from another definition: no index byRecordedAt/,
    );
  });

  it('insists on a name for every table serverless.yml declares, and a declaration for every name', async () => {
    const tables = readTableResources(SERVERLESS_YML);
    await expect(ensureTables(clients.client, tables, { AuditTable: 'c-audit' })).rejects.toThrow(/No local table name for ConnectionsTable, ImportsTable/);
    await expect(ensureTables(clients.client, {}, { OrdersTable: 'c-orders' })).rejects.toThrow(/declares no AWS::DynamoDB::Table OrdersTable/);
  });
});

describe('readTableResources', () => {
  it('follows ${file(...)} includes of resource files, as a list or under Resources', () => {
    const dir = temporaryDir();
    const table = 'Type: AWS::DynamoDB::Table\nProperties:\n  AttributeDefinitions: [{ AttributeName: pk, AttributeType: S }]\n  KeySchema: [{ AttributeName: pk, KeyType: HASH }]\n';
    writeFileSync(join(dir, 'records.yml'), `Resources:\n  OrdersTable:\n    ${table.replace(/\n(?=.)/g, '\n    ')}  Queue:\n    Type: AWS::SQS::Queue\n`);
    writeFileSync(join(dir, 'more.yml'), `Things:\n  LinesTable:\n    ${table.replace(/\n(?=.)/g, '\n    ')}`);
    writeFileSync(join(dir, 'serverless.yml'), 'service: x\nfunctions: {}\nresources:\n  - ${file(./records.yml)}\n  - Resources: ${file(./more.yml):Things}\n');
    expect(Object.keys(readTableResources(join(dir, 'serverless.yml')))).toEqual(['OrdersTable', 'LinesTable']);
  });
});

describe('sweepExpiredItems', () => {
  let dynamo: LocalDynamo;
  afterEach(async () => dynamo?.close());

  it('deletes the items whose TTL has passed, keeping later, absent and non-numeric ones', async () => {
    dynamo = await startLocalDynamo();
    const { client } = localDynamoClients(dynamo.endpoint);
    const tables = readTableResources(SERVERLESS_YML);
    const [connections] = await ensureTables(client, { ConnectionsTable: tables.ConnectionsTable! }, { ConnectionsTable: 'connections' });
    const now = new Date('2024-06-01T12:00:00.000Z');
    const epoch = now.getTime() / 1000;
    const put = (pk: string, expiresAt?: { N: string } | { S: string }) =>
      client.send(new PutItemCommand({ TableName: 'connections', Item: { pk: { S: pk }, sk: { S: 'X' }, ...(expiresAt ? { expiresAt } : {}) } }));
    await put('past', { N: String(epoch - 1) });
    await put('now', { N: String(epoch) });
    await put('future', { N: String(epoch + 1) });
    await put('none');
    await put('text', { S: String(epoch - 100) });
    for (let i = 0; i < 30; i++) await put(`old-${i}`, { N: String(epoch - 3600) });

    expect(await sweepExpiredItems(client, 'connections', connections!.ttlAttribute!, now)).toBe(32);
    const left = await Promise.all(
      ['past', 'now', 'future', 'none', 'text', 'old-7'].map(async (pk) =>
        (await client.send(new GetItemCommand({ TableName: 'connections', Key: { pk: { S: pk }, sk: { S: 'X' } } }))).Item ? pk : undefined,
      ),
    );
    expect(left.filter(Boolean)).toEqual(['future', 'none', 'text']);
    expect(await sweepExpiredItems(client, 'connections', 'expiresAt', now)).toBe(0);
    client.destroy();
  });
});

describe('startLocalDynamoTables', () => {
  it('starts dynalite with every serverless.yml table and sweeps the expired items of those with a TTL', async () => {
    const local = await startLocalDynamoTables({ dataDir: temporaryDir(), serverlessYml: SERVERLESS_YML });
    const { client } = localDynamoClients(local.endpoint);
    try {
      expect(['AuditTable', 'ConnectionsTable', 'ImportsTable'].map((id) => local.tableName(id))).toEqual([
        'ferry-local-audit',
        'ferry-local-connections',
        'ferry-local-imports',
      ]);
      expect(() => local.tableName('OrdersTable')).toThrow(/no table OrdersTable/);
      const now = new Date('2024-06-01T12:00:00.000Z');
      const item = (pk: string, expiresAt: number) => ({ pk: { S: pk }, sk: { S: 'X' }, expiresAt: { N: String(expiresAt) } });
      await client.send(new PutItemCommand({ TableName: 'ferry-local-connections', Item: item('gone', now.getTime() / 1000 - 1) }));
      await client.send(new PutItemCommand({ TableName: 'ferry-local-connections', Item: item('kept', now.getTime() / 1000 + 60) }));
      // The audit trail has no TTL: an expiresAt there means nothing and stays.
      await client.send(new PutItemCommand({ TableName: 'ferry-local-audit', Item: item('audit', 0) }));
      expect(await local.sweepExpired(now)).toBe(1);
      expect(await local.sweepExpired(now)).toBe(0);
    } finally {
      client.destroy();
      await local.close();
    }
  });
});
