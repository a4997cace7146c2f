import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ImportSlotStore } from '../../core/ports';
import type { SlotHolder, SlotsState, SlotWaiter } from '../../core/import/slots';
import { awsErrorName, translateAwsError } from './transient';

/**
 * The import engine's slots (core/import/slots.ts) as one item of the connections table (CONNECTIONS_TABLE):
 *   `SLOTS#import` / `SLOTS`: attributes holders, waiters, served (lists), version (number); no TTL.
 * Every change is one PutItem conditioned on the version it read, so two asks at once never both take the
 * last slot: the loser reads again. The item stays small: at most IMPORT_SLOTS holders, and the waiters are
 * bounded by the files the running executions' Maps let run at once (IMPORT_MAP_CONCURRENCY each), ~150 B each,
 * so ~2,500 waiting files fit DynamoDB's 400 KB item.
 */
const KEY = { pk: 'SLOTS#import', sk: 'SLOTS' };

export class DynamoImportSlots implements ImportSlotStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async load(): Promise<{ state: SlotsState; version: number }> {
    try {
      const out = await this.documents.send(new GetCommand({ TableName: this.table, Key: KEY, ConsistentRead: true }));
      const item = out.Item;
      if (!item) return { state: { holders: [], waiters: [] }, version: 0 };
      return {
        state: {
          holders: (item.holders ?? []) as SlotHolder[],
          waiters: (item.waiters ?? []) as SlotWaiter[],
          ...(Array.isArray(item.served) && item.served.length > 0 ? { served: item.served as NonNullable<SlotsState['served']> } : {}),
        },
        version: Number(item.version ?? 0),
      };
    } catch (error) {
      translateAwsError(error, 'reading the import slots');
    }
  }

  async save(state: SlotsState, version: number): Promise<boolean> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...KEY, holders: state.holders, waiters: state.waiters, served: state.served ?? [], version: version + 1 },
          ConditionExpression: version === 0 ? 'attribute_not_exists(pk)' : 'version = :version',
          ...(version === 0 ? {} : { ExpressionAttributeValues: { ':version': version } }),
        }),
      );
      return true;
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') return false;
      translateAwsError(error, 'writing the import slots');
    }
  }
}
