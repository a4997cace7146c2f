import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { NotFound } from '../../core/errors';
import { currentImportRecord, type ImportChange, type ImportRecord, type ImportStatus } from '../../core/import/records';
import { newestFirstIndexPage } from './dynamo-pages';
import { awsErrorName, translateAwsError } from './transient';
import type { ArrivedUpload, ImportRecords } from '../../core/ports';

/**
 * Import records in DynamoDB. Table (IMPORTS_TABLE), for serverless.yml:
 *   - key: partition `pk` (S): `IMPORT#<importId>` for an import (its record's fields as attributes),
 *     `BATCH#<batchId>` for a batch (`waiting`: string set of the import ids not uploaded yet);
 *   - GSI `byBatch`: partition `batchPk` (S) = `BATCH#<batchId>`, sort `position` (N), projection ALL;
 *   - GSI `quarantined`: partition `quarantineList` (S) = `QUARANTINED`, sort `quarantinedSort` (S) =
 *     `<quarantinedAt>#<importId>`, projection ALL (sparse: only quarantined imports have them);
 *   - GSI `resources`: partition `resourceOwner` (S) = `RESOURCES#<userId>`, sort `resourceSort` (S) =
 *     `<createdAt>#<importId>`, projection ALL (sparse: only resources have them);
 *   - GSI `byOwner`: partition `ownerKey` (S) = `OWNER#<userId>`, sort `createdSort` (S) = `<createdAt>#<importId>`,
 *     projection ALL (sparse: imports only, not resources): a user's imports newest first (GET /api/imports);
 *   - on-demand billing, point-in-time recovery on.
 */
export const IMPORTS_BY_BATCH_INDEX = 'byBatch';
export const IMPORTS_QUARANTINED_INDEX = 'quarantined';
export const RESOURCES_BY_OWNER_INDEX = 'resources';
export const IMPORTS_BY_OWNER_INDEX = 'byOwner';
const KEY_ATTRIBUTES = ['pk', 'batchPk', 'position', 'quarantineList', 'quarantinedSort', 'resourceOwner', 'resourceSort', 'ownerKey', 'createdSort'] as const;
const RESOURCE_KEY_ATTRIBUTES = ['pk', 'resourceOwner', 'resourceSort'] as const;
const resourceOwnerKey = (userId: string) => `RESOURCES#${userId}`;
/** The byOwner index's position: the table key and the index key. */
const OWNER_KEY_ATTRIBUTES = ['pk', 'ownerKey', 'createdSort'] as const;
/** The quarantined index's position: the table key and the index key. */
const QUARANTINE_KEY_ATTRIBUTES = ['pk', 'quarantineList', 'quarantinedSort'] as const;
const importKey = (importId: string) => ({ pk: `IMPORT#${importId}` });
const batchKey = (batchId: string) => ({ pk: `BATCH#${batchId}` });

export class DynamoImportRecords implements ImportRecords {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(records: ImportRecord[]): Promise<void> {
    const items: Record<string, unknown>[] = records.map((record, position) => ({
      ...withoutUndefined(record),
      ...importKey(record.importId),
      // byOwner lists imports only (sparse): resources have their own index.
      ...(record.kind === 'resource' ? {} : { ownerKey: `OWNER#${record.owner.userId}`, createdSort: `${record.createdAt}#${record.importId}` }),
      ...(record.batchId ? { batchPk: `BATCH#${record.batchId}`, position } : {}),
      ...(record.kind === 'resource'
        ? { resourceOwner: resourceOwnerKey(record.owner.userId), resourceSort: `${record.createdAt}#${record.importId}` }
        : {}),
    }));
    const batchId = records[0]?.batchId;
    if (batchId) items.push({ ...batchKey(batchId), waiting: new Set(records.map((record) => record.importId)) });
    try {
      for (let start = 0; start < items.length; start += 25) {
        let requests = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
        for (let attempt = 0; requests.length > 0; attempt++) {
          const out = await this.documents.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
          requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
          if (requests.length > 0) await sleep(Math.min(1000, 50 * 2 ** attempt));
        }
      }
    } catch (error) {
      translateAwsError(error, 'creating import records');
    }
  }

  async get(importId: string): Promise<ImportRecord | undefined> {
    try {
      const out = await this.documents.send(new GetCommand({ TableName: this.table, Key: importKey(importId), ConsistentRead: true }));
      return out.Item ? toRecord(out.Item) : undefined;
    } catch (error) {
      translateAwsError(error, `reading import ${importId}`);
    }
  }

  async listBatch(batchId: string): Promise<ImportRecord[]> {
    const records: ImportRecord[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.documents.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: IMPORTS_BY_BATCH_INDEX,
            KeyConditionExpression: 'batchPk = :batch',
            ExpressionAttributeValues: { ':batch': `BATCH#${batchId}` },
            ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}),
          }),
        );
        records.push(...(out.Items ?? []).map(toRecord));
        ExclusiveStartKey = out.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return records;
    } catch (error) {
      translateAwsError(error, `listing batch ${batchId}`);
    }
  }

  async update(importId: string, change: ImportChange, at: Date): Promise<ImportRecord> {
    const record = await this.write(importId, change, at);
    if (!record) throw new NotFound(`No import ${importId}.`);
    return record;
  }

  /** One conditional UpdateItem: the status must be one of `from`; a failed condition is told apart from an absent record by a read. */
  async updateIf(importId: string, change: ImportChange, at: Date, from: readonly ImportStatus[]): Promise<ImportRecord | undefined> {
    const record = await this.write(importId, change, at, from);
    if (record) return record;
    if (!(await this.get(importId))) throw new NotFound(`No import ${importId}.`);
    return undefined;
  }

  /** The UpdateItem of update and updateIf; undefined when the condition failed (no record, or not in `from`). */
  private async write(importId: string, change: ImportChange, at: Date, from?: readonly ImportStatus[]): Promise<ImportRecord | undefined> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':updatedAt': at.toISOString() };
    const conditions = ['attribute_exists(pk)'];
    if (from) {
      // The same name placeholder as a change of status uses (`#status`): one placeholder per attribute.
      names['#status'] = 'status';
      from.forEach((status, i) => (values[`:from${i}`] = status));
      conditions.push(from.length > 0 ? `#status IN (${from.map((_, i) => `:from${i}`).join(', ')})` : 'attribute_not_exists(pk)');
    }
    const sets = ['updatedAt = :updatedAt'];
    const { checks, ...fields } = change;
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    for (const [check, value] of Object.entries(checks ?? {})) {
      names['#checks'] = 'checks';
      names[`#check_${check}`] = check;
      values[`:check_${check}`] = value;
      sets.push(`#checks.#check_${check} = :check_${check}`);
    }
    if (change.quarantine) {
      values[':quarantineList'] = 'QUARANTINED';
      values[':quarantinedSort'] = `${change.quarantine.quarantinedAt}#${importId}`;
      sets.push('quarantineList = :quarantineList', 'quarantinedSort = :quarantinedSort');
    }
    try {
      const out = await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: importKey(importId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(out.Attributes ?? {});
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') return undefined;
      translateAwsError(error, `updating import ${importId}`);
    }
  }

  async markUploaded(importId: string, at: Date, arrived?: ArrivedUpload): Promise<{ record: ImportRecord; batchUploaded: boolean }> {
    let record: ImportRecord;
    try {
      const out = await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: importKey(importId),
          UpdateExpression: `SET uploadedAt = :at, updatedAt = :at, #status = :running${arrived ? ', uploadedEtag = :etag, uploadedBytes = :bytes' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(uploadedAt) AND #status = :awaiting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':at': at.toISOString(),
            ':running': 'RUNNING',
            ':awaiting': 'AWAITING_UPLOAD',
            ...(arrived ? { ':etag': arrived.etag, ':bytes': arrived.bytes } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      record = toRecord(out.Attributes ?? {});
    } catch (error) {
      if (awsErrorName(error) !== 'ConditionalCheckFailedException') translateAwsError(error, `marking import ${importId} uploaded`);
      // Already marked (a second event, or /complete after the event): the record as it is.
      const existing = await this.get(importId);
      if (!existing) throw new NotFound(`No import ${importId}.`);
      record = existing;
    }
    if (!record.batchId) return { record, batchUploaded: true };
    try {
      const out = await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: batchKey(record.batchId),
          UpdateExpression: 'DELETE waiting :importId',
          ExpressionAttributeValues: { ':importId': new Set([importId]) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const waiting = out.Attributes?.waiting as Set<string> | undefined;
      return { record, batchUploaded: !waiting || waiting.size === 0 };
    } catch (error) {
      translateAwsError(error, `counting the uploads of batch ${record.batchId}`);
    }
  }

  async delete(importId: string): Promise<void> {
    try {
      await this.documents.send(new DeleteCommand({ TableName: this.table, Key: importKey(importId) }));
    } catch (error) {
      translateAwsError(error, `deleting import ${importId}`);
    }
  }

  async listOwnedBy(userId: string, options: { limit: number; cursor?: string }): Promise<{ records: ImportRecord[]; nextCursor?: string }> {
    try {
      const { items, nextCursor } = await newestFirstIndexPage(
        this.documents,
        {
          TableName: this.table,
          IndexName: IMPORTS_BY_OWNER_INDEX,
          KeyConditionExpression: 'ownerKey = :owner',
          ExpressionAttributeValues: { ':owner': `OWNER#${userId}` },
        },
        OWNER_KEY_ATTRIBUTES,
        options,
      );
      return { records: items.map(toRecord), ...(nextCursor ? { nextCursor } : {}) };
    } catch (error) {
      translateAwsError(error, `listing the imports of ${userId}`);
    }
  }

  async listQuarantined(options: { limit: number; cursor?: string }): Promise<{ records: ImportRecord[]; nextCursor?: string }> {
    try {
      const { items, nextCursor } = await newestFirstIndexPage(
        this.documents,
        {
          TableName: this.table,
          IndexName: IMPORTS_QUARANTINED_INDEX,
          KeyConditionExpression: 'quarantineList = :list',
          ExpressionAttributeValues: { ':list': 'QUARANTINED' },
        },
        QUARANTINE_KEY_ATTRIBUTES,
        options,
      );
      return { records: items.map(toRecord), ...(nextCursor ? { nextCursor } : {}) };
    } catch (error) {
      translateAwsError(error, 'listing quarantined imports');
    }
  }

  async listResources(
    userId: string,
    options: { limit: number; cursor?: string },
  ): Promise<{ records: ImportRecord[]; nextCursor?: string }> {
    try {
      const { items, nextCursor } = await newestFirstIndexPage(
        this.documents,
        {
          TableName: this.table,
          IndexName: RESOURCES_BY_OWNER_INDEX,
          KeyConditionExpression: 'resourceOwner = :owner',
          ExpressionAttributeValues: { ':owner': resourceOwnerKey(userId) },
        },
        RESOURCE_KEY_ATTRIBUTES,
        options,
      );
      return { records: items.map(toRecord), ...(nextCursor ? { nextCursor } : {}) };
    } catch (error) {
      translateAwsError(error, `listing the resources of ${userId}`);
    }
  }
}

function toRecord(item: Record<string, unknown>): ImportRecord {
  const record: Record<string, unknown> = { ...item };
  for (const key of KEY_ATTRIBUTES) delete record[key];
  return currentImportRecord(record as unknown as ImportRecord);
}

const withoutUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
