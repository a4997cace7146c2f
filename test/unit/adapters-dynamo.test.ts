import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { AUDIT_NEWEST_FIRST_INDEX, DynamoAuditLog } from '../../adapters/aws/dynamo-audit-log';
import { DynamoConnectionRendezvous } from '../../adapters/aws/dynamo-rendezvous';
import { Transient } from '../../core/errors';
import type { AuditEntry } from '../../core/ports';
import { FakeSend, awsError, testCredentials, type SentCommand } from './aws-fakes';

type Item = Record<string, unknown>;

/**
 * A tiny in-memory table answering the document client's commands, understanding just the
 * expressions the adapters write: `SET a = :x, …`, `REMOVE a`, `a = :x` conditions and key conditions.
 */
class FakeTable {
  readonly items = new Map<string, Item>();
  readonly fake = new FakeSend();

  constructor() {
    this.fake
      .on('PutCommand', ({ input }) => {
        const item = input.Item as Item;
        this.items.set(this.keyOf(item), structuredClone(item));
        return {};
      })
      .on('GetCommand', ({ input }) => ({ Item: this.items.get(this.keyOf(input.Key as Item)) }))
      .on('DeleteCommand', ({ input }) => {
        const key = this.keyOf(input.Key as Item);
        const old = this.items.get(key);
        this.items.delete(key);
        return input.ReturnValues === 'ALL_OLD' && old ? { Attributes: old } : {};
      })
      .on('UpdateCommand', (command) => this.update(command))
      .on('QueryCommand', (command) => this.query(command));
  }

  client(): DynamoDBDocumentClient {
    return this.fake.install(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: testCredentials })));
  }

  private keyOf(item: Item): string {
    return `${String(item.pk)}|${String(item.sk)}`;
  }

  private update({ input }: SentCommand) {
    const key = this.keyOf(input.Key as Item);
    const values = (input.ExpressionAttributeValues ?? {}) as Item;
    const current: Item = structuredClone(this.items.get(key) ?? { ...(input.Key as Item) });
    if (input.ConditionExpression) {
      const [attribute, placeholder] = String(input.ConditionExpression).split(' = ');
      if (current[attribute!] !== values[placeholder!]) {
        throw new ConditionalCheckFailedException({ message: 'condition failed', $metadata: { httpStatusCode: 400 } });
      }
    }
    const expression = String(input.UpdateExpression);
    const set = expression.match(/^SET (.+)$/);
    const remove = expression.match(/^REMOVE (.+)$/);
    for (const assignment of set?.[1]?.split(', ') ?? []) {
      const [attribute, placeholder] = assignment.split(' = ');
      current[attribute!] = values[placeholder!];
    }
    for (const attribute of remove?.[1]?.split(', ') ?? []) delete current[attribute];
    this.items.set(key, current);
    return input.ReturnValues === 'ALL_NEW' ? { Attributes: current } : {};
  }

  private query({ input }: SentCommand) {
    expect(input.IndexName).toBe(AUDIT_NEWEST_FIRST_INDEX);
    expect(input.KeyConditionExpression).toBe('gsi1pk = :partition');
    const partition = (input.ExpressionAttributeValues as Item)[':partition'];
    let items = [...this.items.values()]
      .filter((item) => item.gsi1pk === partition)
      .sort((a, b) => String(a.gsi1sk).localeCompare(String(b.gsi1sk)));
    if (input.ScanIndexForward === false) items.reverse();
    const start = input.ExclusiveStartKey as Item | undefined;
    if (start) items = items.slice(items.findIndex((item) => item.gsi1sk === start.gsi1sk) + 1);
    const limit = Number(input.Limit);
    const page = items.slice(0, limit);
    const last = page.at(-1);
    return {
      Items: page,
      ...(items.length > limit && last ? { LastEvaluatedKey: { pk: last.pk, sk: last.sk, gsi1pk: last.gsi1pk, gsi1sk: last.gsi1sk } } : {}),
    };
  }
}

const entry = (id: string, recordedAt: string, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  id,
  kind: 'export',
  userId: 'user-alice',
  username: 'alice',
  delivery: 'email',
  searchCriteria: { q: 'ferry' },
  outcome: 'REQUESTED',
  requestedAt: '2024-06-01T12:00:00.000Z',
  recordedAt,
  ...overrides,
});

describe('DynamoAuditLog', () => {
  it('stores an entry under the user, listable newest first, and reads it back unchanged', async () => {
    const table = new FakeTable();
    const log = new DynamoAuditLog(table.client(), 'audit');
    const first = entry('export:e1:REQUESTED', '2024-06-01T12:00:00.000Z');
    await log.record(first);
    expect(table.fake.sent[0]?.input).toMatchObject({
      TableName: 'audit',
      Item: { pk: 'USER#user-alice', sk: 'ENTRY#export:e1:REQUESTED', gsi1pk: 'AUDIT', gsi1sk: '2024-06-01T12:00:00.000Z#export:e1:REQUESTED' },
    });
    expect(await log.list({ limit: 10 })).toEqual({ entries: [first] });
  });

  it('lists newest first, a page at a time', async () => {
    const table = new FakeTable();
    const log = new DynamoAuditLog(table.client(), 'audit');
    for (let i = 1; i <= 5; i += 1) await log.record(entry(`e${i}`, `2024-06-01T12:00:0${i}.000Z`));
    const first = await log.list({ limit: 2 });
    expect(first.entries.map((e) => e.id)).toEqual(['e5', 'e4']);
    const second = await log.list({ limit: 2, cursor: first.nextCursor! });
    expect(second.entries.map((e) => e.id)).toEqual(['e3', 'e2']);
    const third = await log.list({ limit: 2, cursor: second.nextCursor! });
    expect(third).toEqual({ entries: [expect.objectContaining({ id: 'e1' })] });
  });

  it('keeps one item per entry id when a record is retried', async () => {
    const table = new FakeTable();
    const log = new DynamoAuditLog(table.client(), 'audit');
    await log.record(entry('e1', '2024-06-01T12:00:00.000Z'));
    await log.record(entry('e1', '2024-06-01T12:00:05.000Z'));
    expect(table.items.size).toBe(1);
  });

  it('turns throttling into Transient', async () => {
    const fake = new FakeSend().on('PutCommand', () => {
      throw awsError('ProvisionedThroughputExceededException', 400);
    });
    const log = new DynamoAuditLog(fake.install(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: testCredentials }))), 'audit');
    await expect(log.record(entry('e1', '2024-06-01T12:00:00.000Z'))).rejects.toBeInstanceOf(Transient);
  });
});

describe('DynamoConnectionRendezvous', () => {
  const now = () => new Date('2024-06-01T12:00:00.000Z');
  const rendezvousOn = (table: FakeTable) => new DynamoConnectionRendezvous(table.client(), 'connections', now);

  it('hands the token to a browser that connects after it', async () => {
    const rendezvous = rendezvousOn(new FakeTable());
    expect(await rendezvous.attachTaskToken('arn:1', 'token-1')).toEqual({});
    expect(await rendezvous.attachConnection('arn:1', 'conn-1')).toEqual({ taskToken: 'token-1' });
  });

  it('hands the connection to a token that arrives after it', async () => {
    const rendezvous = rendezvousOn(new FakeTable());
    expect(await rendezvous.attachConnection('arn:1', 'conn-1')).toEqual({});
    expect(await rendezvous.attachTaskToken('arn:1', 'token-1')).toEqual({ connectionId: 'conn-1' });
    expect(await rendezvous.connectionOf('arn:1')).toBe('conn-1');
  });

  it('writes each half with one UpdateItem returning ALL_NEW, and a day-long TTL', async () => {
    const table = new FakeTable();
    await rendezvousOn(table).attachTaskToken('arn:1', 'token-1');
    expect(table.fake.sent[0]).toMatchObject({
      name: 'UpdateCommand',
      input: { TableName: 'connections', Key: { pk: 'EXECUTION#arn:1', sk: 'RENDEZVOUS' }, ReturnValues: 'ALL_NEW' },
    });
    expect(table.items.get('EXECUTION#arn:1|RENDEZVOUS')?.expiresAt).toBe(Date.parse('2024-06-02T12:00:00.000Z') / 1000);
  });

  it('forgets a connection on disconnect, but not one the browser replaced by reconnecting', async () => {
    const rendezvous = rendezvousOn(new FakeTable());
    await rendezvous.attachConnection('arn:1', 'conn-1');
    await rendezvous.attachConnection('arn:1', 'conn-2');
    await rendezvous.detachConnection('conn-1');
    expect(await rendezvous.connectionOf('arn:1')).toBe('conn-2');
    await rendezvous.detachConnection('conn-2');
    expect(await rendezvous.connectionOf('arn:1')).toBeUndefined();
  });

  it('ignores the disconnect of a connection it never saw', async () => {
    const rendezvous = rendezvousOn(new FakeTable());
    await expect(rendezvous.detachConnection('conn-unknown')).resolves.toBeUndefined();
  });
});
