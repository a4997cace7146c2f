import { resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { localDynamoClients } from '../../infra/local/dynamodb/client';
import { startLocalDynamo, type LocalDynamo } from '../../infra/local/dynamodb/server';
import { readTableResources, type TableResource } from '../../infra/local/dynamodb/table-resources';
import { ensureTables } from '../../infra/local/dynamodb/tables';

/**
 * One in-memory dynalite per test file (so files run in parallel), with serverless.yml's own table
 * definitions; each `freshTable` is a new, empty table under a unique name, so tests never see each other's items.
 */
export function useDynalite(): {
  clients(): { client: DynamoDBClient; documents: DynamoDBDocumentClient };
  freshTable(logicalId: 'AuditTable' | 'ConnectionsTable' | 'ImportsTable' | 'JobsTable'): Promise<string>;
} {
  let dynamo: LocalDynamo | undefined;
  let clients: { client: DynamoDBClient; documents: DynamoDBDocumentClient } | undefined;
  let tables: Record<string, TableResource> = {};
  let created = 0;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    clients = localDynamoClients(dynamo.endpoint);
    tables = readTableResources(resolve(import.meta.dirname, '../../serverless.yml'));
  });
  afterAll(async () => {
    clients?.client.destroy();
    await dynamo?.close();
  });
  return {
    clients: () => {
      if (!clients) throw new Error('useDynalite: dynalite is not started (call clients() inside a test or hook)');
      return clients;
    },
    async freshTable(logicalId) {
      const tableName = `t${++created}-${logicalId}`;
      const resource = tables[logicalId];
      if (!resource || !clients) throw new Error(`useDynalite: no ${logicalId} in serverless.yml, or dynalite not started`);
      await ensureTables(clients.client, { [logicalId]: resource }, { [logicalId]: tableName });
      return tableName;
    },
  };
}
