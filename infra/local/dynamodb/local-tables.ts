import { localDynamoClients } from './client';
import { startLocalDynamo } from './server';
import { startLocalDynamoProcess } from './server-process';
import { readTableResources } from './table-resources';
import { ensureTables, localTableNames, sweepExpiredItems, type LocalTable } from './tables';

/**
 * The local stack's whole DynamoDB in one call: dynalite under `<dataDir>/dynamodb`, every table
 * serverless.yml declares (named `ferry-local-<name>`), and the TTL sweep dynalite cannot do itself.
 */
export interface LocalDynamoTables {
  /** For the SDK client's `endpoint` in the local composition root. */
  endpoint: string;
  tables: LocalTable[];
  /** The local name of a table serverless.yml declares (e.g. `AuditTable` → `ferry-local-audit`). */
  tableName(logicalId: string): string;
  /** Deletes expired items from every table with a TTL attribute the server does not expire itself; returns how many. */
  sweepExpired(now?: Date): Promise<number>;
  /** Why DynamoDB cannot answer (its process exited); undefined while it can. */
  failure(): string | undefined;
  close(): Promise<void>;
}

export async function startLocalDynamoTables(options: {
  dataDir: string;
  /** The serverless.yml whose `AWS::DynamoDB::Table` resources define the tables. */
  serverlessYml: string;
  port?: number;
  prefix?: string;
  /** Run dynalite in a child process of its own, off the caller's event loop (the stack does). */
  ownProcess?: boolean;
}): Promise<LocalDynamoTables> {
  const start = options.ownProcess ? startLocalDynamoProcess : startLocalDynamo;
  const dynamo = await start({ dataDir: options.dataDir, ...(options.port !== undefined ? { port: options.port } : {}) });
  const { client } = localDynamoClients(dynamo.endpoint);
  try {
    const resources = readTableResources(options.serverlessYml);
    const tables = await ensureTables(client, resources, localTableNames(resources, options.prefix));
    return {
      endpoint: dynamo.endpoint,
      tables,
      tableName(logicalId) {
        const table = tables.find((candidate) => candidate.logicalId === logicalId);
        if (!table) throw new Error(`serverless.yml declares no table ${logicalId}.`);
        return table.tableName;
      },
      async sweepExpired(now = new Date()) {
        let deleted = 0;
        for (const table of tables) {
          if (table.ttl === 'sweep' && table.ttlAttribute) deleted += await sweepExpiredItems(client, table.tableName, table.ttlAttribute, now);
        }
        return deleted;
      },
      failure: () => dynamo.failure?.(),
      async close() {
        client.destroy();
        await dynamo.close();
      },
    };
  } catch (error) {
    client.destroy();
    await dynamo.close();
    throw error;
  }
}
