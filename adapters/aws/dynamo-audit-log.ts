import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry, AuditLog } from '../../core/ports';
import { newestFirstIndexPage } from './dynamo-pages';
import { translateAwsError } from './transient';

/**
 * The audit trail in DynamoDB. Table (AUDIT_TABLE), for serverless.yml:
 *   - key: partition `pk` (S) = `USER#<userId>`, sort `sk` (S) = `ENTRY#<entry id>`
 *     (one item per entry id, so a retried task overwrites instead of duplicating; a user's entries share a partition)
 *   - GSI `newestFirst`: partition `gsi1pk` (S) = `AUDIT`, sort `gsi1sk` (S) = `<recordedAt ISO>#<entry id>`,
 *     projection ALL; queried with ScanIndexForward=false for the newest-first listing.
 *   - on-demand billing, point-in-time recovery on; no TTL (an audit trail is kept).
 */
export const AUDIT_NEWEST_FIRST_INDEX = 'newestFirst';
const LIST_PARTITION = 'AUDIT';
const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk'] as const;

export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    const item = {
      ...withoutUndefined(entry),
      pk: `USER#${entry.userId}`,
      sk: `ENTRY#${entry.id}`,
      gsi1pk: LIST_PARTITION,
      gsi1sk: `${entry.recordedAt}#${entry.id}`,
    };
    try {
      await this.documents.send(new PutCommand({ TableName: this.table, Item: item }));
    } catch (error) {
      translateAwsError(error, `recording audit entry ${entry.id}`);
    }
  }

  async list(options: { limit: number; cursor?: string }): Promise<{ entries: AuditEntry[]; nextCursor?: string }> {
    try {
      const { items, nextCursor } = await newestFirstIndexPage(
        this.documents,
        {
          TableName: this.table,
          IndexName: AUDIT_NEWEST_FIRST_INDEX,
          KeyConditionExpression: 'gsi1pk = :partition',
          ExpressionAttributeValues: { ':partition': LIST_PARTITION },
        },
        KEY_ATTRIBUTES,
        options,
      );
      return { entries: items.map(toEntry), ...(nextCursor ? { nextCursor } : {}) };
    } catch (error) {
      translateAwsError(error, 'listing the audit trail');
    }
  }
}

function toEntry(item: Record<string, unknown>): AuditEntry {
  const entry: Record<string, unknown> = { ...item };
  for (const key of KEY_ATTRIBUTES) delete entry[key];
  return entry as unknown as AuditEntry;
}

const withoutUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
