import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { AUDIT_NEWEST_FIRST_INDEX, DynamoAuditLog } from '../../adapters/aws/dynamo-audit-log';
import { DynamoExportProgress } from '../../adapters/aws/dynamo-export-progress';
import { DynamoExportRecords } from '../../adapters/aws/dynamo-export-records';
import { DynamoImportRecords } from '../../adapters/aws/dynamo-import-records';
import { DynamoConnectionRendezvous } from '../../adapters/aws/dynamo-rendezvous';
import { Transient } from '../../core/errors';
import { FakeSend, awsError, testCredentials, type SentCommand } from './aws-fakes';
import { useDynalite } from './dynalite-tables';
import { auditEntry, describeAuditLog } from './specs/audit-log-spec';
import { describeConnectionRendezvous } from './specs/connection-rendezvous-spec';
import { describeExportProgress } from './specs/export-progress-spec';
import { describeExportRecords } from './specs/export-records-spec';
import { describeImportRecords, importRecord } from './specs/import-records-spec';

/**
 * The DynamoDB adapters against dynalite (a DynamoDB-compatible server: it validates expressions, keys
 * and indexes as DynamoDB does), on tables made from serverless.yml's definitions: each port's spec,
 * then what only the Dynamo layout shows. Fake `send`s remain only for answers dynalite never gives
 * (throttling, unprocessed batch items).
 */
const dynalite = useDynalite();
const now = () => new Date('2024-06-01T12:00:00.000Z');

/** The document client, recording each command it sends (an observer: every command still reaches dynalite). */
function recorded(): { documents: DynamoDBDocumentClient; sent: SentCommand[] } {
  const { documents } = dynalite.clients();
  const sent: SentCommand[] = [];
  const observed = Object.create(documents) as DynamoDBDocumentClient;
  // The SDK's send is overloaded; the adapters use the promise form only.
  (observed as unknown as { send: (command: object) => Promise<unknown> }).send = (command) => {
    sent.push({ name: command.constructor.name, input: (command as { input: Record<string, unknown> }).input });
    return documents.send(command as Parameters<typeof documents.send>[0]);
  };
  return { documents: observed, sent };
}

const rawItem = async (table: string, Key: Record<string, string>) =>
  (await dynalite.clients().documents.send(new GetCommand({ TableName: table, Key }))).Item;

describeAuditLog('DynamoAuditLog on dynalite', async () => ({
  port: new DynamoAuditLog(dynalite.clients().documents, await dynalite.freshTable('AuditTable')),
}));
describeExportProgress('DynamoExportProgress on dynalite', async () => ({
  port: new DynamoExportProgress(dynalite.clients().documents, await dynalite.freshTable('ConnectionsTable')),
}));
describeConnectionRendezvous('DynamoConnectionRendezvous on dynalite', async () => ({
  port: new DynamoConnectionRendezvous(dynalite.clients().documents, await dynalite.freshTable('ConnectionsTable')),
}));
describeImportRecords('DynamoImportRecords on dynalite', async () => ({
  port: new DynamoImportRecords(dynalite.clients().documents, await dynalite.freshTable('ImportsTable')),
}));
describeExportRecords('DynamoExportRecords on dynalite', async () => ({
  port: new DynamoExportRecords(dynalite.clients().documents, await dynalite.freshTable('JobsTable')),
}));

/**
 * The document client as DynamoDB answers under load: every other BatchWriteItem writes all but the last
 * two of its items and hands those back as UnprocessedItems (the written ones really reach dynalite).
 */
function underLoad(): DynamoDBDocumentClient {
  const { documents } = dynalite.clients();
  const loaded = Object.create(documents) as DynamoDBDocumentClient;
  let batchWrites = 0;
  // The SDK's send is overloaded; the adapters use the promise form only.
  (loaded as unknown as { send: (command: object) => Promise<unknown> }).send = async (command) => {
    if (!(command instanceof BatchWriteCommand) || ++batchWrites % 2 === 0) return documents.send(command as Parameters<typeof documents.send>[0]);
    const [[table, requests = []]] = Object.entries(command.input.RequestItems ?? {}) as [[string, unknown[]]];
    if (requests.length < 3) return documents.send(command);
    await documents.send(new BatchWriteCommand({ RequestItems: { [table]: requests.slice(0, -2) } as typeof command.input.RequestItems }));
    return { UnprocessedItems: { [table]: requests.slice(-2) } };
  };
  return loaded;
}

describeImportRecords('DynamoImportRecords on dynalite under load (batch writes leave items unprocessed)', async () => ({
  port: new DynamoImportRecords(underLoad(), await dynalite.freshTable('ImportsTable')),
}));

describe('DynamoAuditLog layout', () => {
  it('stores an entry under its user, with the newestFirst index keys, and lists it through that index', async () => {
    const table = await dynalite.freshTable('AuditTable');
    const { documents, sent } = recorded();
    const log = new DynamoAuditLog(documents, table);
    const entry = auditEntry('export:e1:REQUESTED', '2024-06-01T12:00:00.000Z');
    await log.record(entry);
    expect(await rawItem(table, { pk: 'USER#user-alice', sk: 'ENTRY#export:e1:REQUESTED' })).toEqual({
      ...entry,
      pk: 'USER#user-alice',
      sk: 'ENTRY#export:e1:REQUESTED',
      gsi1pk: 'AUDIT',
      gsi1sk: '2024-06-01T12:00:00.000Z#export:e1:REQUESTED',
    });
    await log.list({ limit: 10 });
    expect(sent.map((command) => command.name)).toEqual(['PutCommand', 'QueryCommand']);
    expect(sent[1]?.input).toMatchObject({ IndexName: AUDIT_NEWEST_FIRST_INDEX, ScanIndexForward: false });
  });

  it('turns throttling into Transient', async () => {
    const fake = new FakeSend().on('PutCommand', () => {
      throw awsError('ProvisionedThroughputExceededException', 400);
    });
    const log = new DynamoAuditLog(fake.install(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: testCredentials }))), 'audit');
    await expect(log.record(auditEntry('e1', '2024-06-01T12:00:00.000Z'))).rejects.toBeInstanceOf(Transient);
  });
});

describe('DynamoConnectionRendezvous layout', () => {
  it('writes each half with one UpdateItem returning ALL_NEW, every item with a day-long TTL', async () => {
    const table = await dynalite.freshTable('ConnectionsTable');
    const { documents, sent } = recorded();
    const rendezvous = new DynamoConnectionRendezvous(documents, table, now);
    await rendezvous.attachTaskToken('arn:1', 'token-1');
    expect(sent).toEqual([
      expect.objectContaining({ name: 'UpdateCommand', input: expect.objectContaining({ Key: { pk: 'EXECUTION#arn:1', sk: 'RENDEZVOUS' }, ReturnValues: 'ALL_NEW' }) }),
    ]);
    await rendezvous.attachConnection('arn:1', 'conn-1');
    const dayLater = Date.parse('2024-06-02T12:00:00.000Z') / 1000;
    expect(await rawItem(table, { pk: 'EXECUTION#arn:1', sk: 'RENDEZVOUS' })).toEqual({
      pk: 'EXECUTION#arn:1', sk: 'RENDEZVOUS', taskToken: 'token-1', connectionId: 'conn-1', expiresAt: dayLater,
    });
    expect(await rawItem(table, { pk: 'CONNECTION#conn-1', sk: 'CONNECTION' })).toEqual({
      pk: 'CONNECTION#conn-1', sk: 'CONNECTION', executionArn: 'arn:1', expiresAt: dayLater,
    });
  });
});

describe('DynamoExportProgress layout', () => {
  it('keeps progress as PROGRESS# items beside the rendezvous, expiring after a day', async () => {
    const table = await dynalite.freshTable('ConnectionsTable');
    await new DynamoExportProgress(dynalite.clients().documents, table, now).record('export-1', { rowsWritten: 5, updatedAt: '2024-06-01T12:00:00.000Z' });
    expect(await rawItem(table, { pk: 'PROGRESS#export-1', sk: 'PROGRESS' })).toEqual({
      pk: 'PROGRESS#export-1', sk: 'PROGRESS', rowsWritten: 5, updatedAt: '2024-06-01T12:00:00.000Z', expiresAt: Date.parse('2024-06-02T12:00:00.000Z') / 1000,
    });
  });
});

describe('DynamoImportRecords layout', () => {
  it('writes a batch 25 items per BatchWriteItem, with a BATCH# item holding the ids still awaited', async () => {
    const table = await dynalite.freshTable('ImportsTable');
    const { documents, sent } = recorded();
    await new DynamoImportRecords(documents, table).create(Array.from({ length: 60 }, (_, i) => importRecord(`f-${i}`, { batchId: 'b1' })));
    expect(sent.map((command) => (command.input.RequestItems as Record<string, unknown[]>)[table]?.length)).toEqual([25, 25, 11]);
    expect((await rawItem(table, { pk: 'BATCH#b1' }))?.waiting).toEqual(new Set(Array.from({ length: 60 }, (_, i) => `f-${i}`)));
    expect(await rawItem(table, { pk: 'IMPORT#f-7' })).toMatchObject({ batchPk: 'BATCH#b1', position: 7 });
  });

  it('lists a batch over the 1 MB Query page by following LastEvaluatedKey', async () => {
    const table = await dynalite.freshTable('ImportsTable');
    const { documents, sent } = recorded();
    const imports = new DynamoImportRecords(documents, table);
    await imports.create(Array.from({ length: 1500 }, (_, i) => importRecord(`f-${i}`, { batchId: 'b1', fileName: `${'x'.repeat(800)}-${i}.csv` })));
    sent.length = 0;
    expect((await imports.listBatch('b1')).map((r) => r.importId)).toEqual(Array.from({ length: 1500 }, (_, i) => `f-${i}`));
    expect(sent.filter((command) => command.name === 'QueryCommand').length).toBeGreaterThan(1);
  });

  it('sends the unprocessed items of a batch write again until none are left', async () => {
    let calls = 0;
    const fake = new FakeSend().on('BatchWriteCommand', (command) => {
      calls += 1;
      const requests = (command.input.RequestItems as Record<string, unknown[]>).imports ?? [];
      // The first answer leaves the last two items unprocessed, as DynamoDB does under load.
      return calls === 1 ? { UnprocessedItems: { imports: requests.slice(-2) } } : {};
    });
    const documents = fake.install(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: testCredentials })));
    await new DynamoImportRecords(documents, 'imports').create([importRecord('a'), importRecord('b'), importRecord('c')]);
    const sizes = fake.named('BatchWriteCommand').map((command) => (command.input.RequestItems as Record<string, unknown[]>).imports?.length);
    expect(sizes).toEqual([3, 2]);
    const retried = fake.named('BatchWriteCommand')[1]?.input.RequestItems as Record<string, { PutRequest: { Item: { importId: string } } }[]>;
    expect(retried.imports?.map((request) => request.PutRequest.Item.importId)).toEqual(['b', 'c']);
  });
});
