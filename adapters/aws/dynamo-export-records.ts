import {
  BatchWriteCommand,
  DeleteCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { ExportJobStatus } from '../../core/contract';
import { NotFound } from '../../core/errors';
import type { ExportChange, ExportRecord, ExportRecordPage, JobPerson } from '../../core/export/records';
import type { ExportRecords } from '../../core/ports';
import { newestFirstIndexPage } from './dynamo-pages';
import { awsErrorName, translateAwsError } from './transient';

/**
 * Export job records in DynamoDB. Table (JOBS_TABLE), for serverless.yml:
 *   - key: `pk` (S) = `EXPORT#<exportId>`, `sk` (S) = `JOB` for the job (its record's fields as attributes,
 *     without `sharedWith`), `SHARE#<userId>` for each person it is shared with (their userId, username, email);
 *   - GSI `byViewer`: `viewer` (S) = a userId (the owner's on the job, the grantee's on a share), sort
 *     `createdSort` (S) = `<createdAt>#<exportId>`: what one user sees, newest first, in one query;
 *   - GSI `newestFirst`: `allJobs` (S) = `EXPORT` on jobs only, sort `createdSort`: every export, for admins.
 * The shares live beside the job, not inside it, so a user's list is one index query however many
 * exports are shared with them.
 */
export const JOBS_BY_VIEWER_INDEX = 'byViewer';
export const JOBS_NEWEST_FIRST_INDEX = 'newestFirst';
const JOB_SK = 'JOB';
const KEY_ATTRIBUTES = ['pk', 'sk', 'viewer', 'createdSort', 'allJobs'] as const;
const VIEWER_KEY_ATTRIBUTES = ['pk', 'sk', 'viewer', 'createdSort'] as const;
const ALL_KEY_ATTRIBUTES = ['pk', 'sk', 'allJobs', 'createdSort'] as const;
const pkOf = (exportId: string) => `EXPORT#${exportId}`;
const shareSk = (userId: string) => `SHARE#${userId}`;

export class DynamoExportRecords implements ExportRecords {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(record: ExportRecord): Promise<void> {
    const { sharedWith, ...job } = record;
    const createdSort = `${record.createdAt}#${record.exportId}`;
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...withoutUndefined(job), pk: pkOf(record.exportId), sk: JOB_SK, viewer: record.owner.userId, createdSort, allJobs: 'EXPORT' },
        }),
      );
    } catch (error) {
      translateAwsError(error, `creating export ${record.exportId}`);
    }
    if (sharedWith.length > 0) await this.share(record.exportId, sharedWith);
  }

  async get(exportId: string): Promise<ExportRecord | undefined> {
    try {
      const items: Record<string, unknown>[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const out = await this.documents.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pkOf(exportId) },
            ConsistentRead: true,
            ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}),
          }),
        );
        items.push(...(out.Items ?? []));
        ExclusiveStartKey = out.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      const job = items.find((item) => item.sk === JOB_SK);
      if (!job) return undefined;
      const shares = items.filter((item) => typeof item.sk === 'string' && item.sk.startsWith('SHARE#'));
      shares.sort((a, b) => String(a.grantedSort ?? '').localeCompare(String(b.grantedSort ?? '')));
      return { ...toJob(job), sharedWith: shares.map(toPerson) };
    } catch (error) {
      translateAwsError(error, `reading export ${exportId}`);
    }
  }

  async update(exportId: string, change: ExportChange, at: Date, from?: readonly ExportJobStatus[]): Promise<ExportRecord | undefined> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':updatedAt': at.toISOString() };
    const sets = ['updatedAt = :updatedAt'];
    for (const [field, value] of Object.entries(change)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    let condition = 'attribute_exists(pk)';
    if (from) {
      names['#currentStatus'] = 'status';
      from.forEach((status, i) => (values[`:from${i}`] = status));
      condition += ` AND #currentStatus IN (${from.map((_, i) => `:from${i}`).join(', ')})`;
    }
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pkOf(exportId), sk: JOB_SK },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition,
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (awsErrorName(error) !== 'ConditionalCheckFailedException') translateAwsError(error, `updating export ${exportId}`);
      if (!(await this.get(exportId))) throw new NotFound(`No export ${exportId}.`, { cause: error });
      return undefined;
    }
    return this.existing(exportId);
  }

  async share(exportId: string, people: JobPerson[]): Promise<ExportRecord> {
    const record = await this.existing(exportId);
    const known = new Set(record.sharedWith.map((person) => person.userId));
    const fresh = people.filter((person) => person.userId !== record.owner.userId && !known.has(person.userId));
    const createdSort = `${record.createdAt}#${exportId}`;
    const grantedAt = new Date().toISOString();
    const items = fresh.map((person, i) => ({
      pk: pkOf(exportId),
      sk: shareSk(person.userId),
      viewer: person.userId,
      createdSort,
      grantedSort: `${grantedAt}#${String(i).padStart(4, '0')}`,
      userId: person.userId,
      username: person.username,
      email: person.email,
    }));
    try {
      for (let start = 0; start < items.length; start += 25) {
        let requests = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
        while (requests.length > 0) {
          const out = await this.documents.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
          requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
        }
      }
    } catch (error) {
      translateAwsError(error, `sharing export ${exportId}`);
    }
    return this.existing(exportId);
  }

  async unshare(exportId: string, userId: string): Promise<ExportRecord> {
    await this.existing(exportId);
    try {
      await this.documents.send(new DeleteCommand({ TableName: this.table, Key: { pk: pkOf(exportId), sk: shareSk(userId) } }));
    } catch (error) {
      translateAwsError(error, `unsharing export ${exportId}`);
    }
    return this.existing(exportId);
  }

  async delete(exportId: string): Promise<void> {
    const record = await this.get(exportId);
    if (!record) return;
    const keys = [{ pk: pkOf(exportId), sk: JOB_SK }, ...record.sharedWith.map((person) => ({ pk: pkOf(exportId), sk: shareSk(person.userId) }))];
    try {
      for (let start = 0; start < keys.length; start += 25) {
        let requests = keys.slice(start, start + 25).map((Key) => ({ DeleteRequest: { Key } }));
        while (requests.length > 0) {
          const out = await this.documents.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
          requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
        }
      }
    } catch (error) {
      translateAwsError(error, `deleting export ${exportId}`);
    }
  }

  async listVisibleTo(userId: string, options: { limit: number; cursor?: string }): Promise<ExportRecordPage> {
    try {
      const { items, nextCursor } = await newestFirstIndexPage(
        this.documents,
        {
          TableName: this.table,
          IndexName: JOBS_BY_VIEWER_INDEX,
          KeyConditionExpression: 'viewer = :viewer',
          ExpressionAttributeValues: { ':viewer': userId },
        },
        VIEWER_KEY_ATTRIBUTES,
        options,
      );
      const records: ExportRecordPage['records'] = [];
      for (const item of items) {
        const exportId = String(item.pk).slice('EXPORT#'.length);
        // Read whole (with its shares); a share left behind by a deleted job is skipped.
        const record = await this.get(exportId);
        if (record) records.push({ record, sharedWithViewer: item.sk !== JOB_SK });
      }
      return { records, ...(nextCursor ? { nextCursor } : {}) };
    } catch (error) {
      translateAwsError(error, `listing the exports of ${userId}`);
    }
  }

  async listAll(options: {
    limit: number;
    cursor?: string;
    status?: ExportJobStatus;
    ownerUsername?: string;
  }): Promise<{ records: ExportRecord[]; nextCursor?: string }> {
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':all': 'EXPORT' };
    if (options.status) {
      filters.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = options.status;
    }
    if (options.ownerUsername) {
      filters.push('#owner.#username = :username');
      names['#owner'] = 'owner';
      names['#username'] = 'username';
      values[':username'] = options.ownerUsername;
    }
    try {
      const { items, nextCursor } = await newestFirstIndexPage(
        this.documents,
        {
          TableName: this.table,
          IndexName: JOBS_NEWEST_FIRST_INDEX,
          KeyConditionExpression: 'allJobs = :all',
          ExpressionAttributeValues: values,
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names } : {}),
        },
        ALL_KEY_ATTRIBUTES,
        options,
      );
      const records: ExportRecord[] = [];
      for (const item of items) {
        const record = await this.get(String(item.pk).slice('EXPORT#'.length));
        if (record) records.push(record);
      }
      return { records, ...(nextCursor ? { nextCursor } : {}) };
    } catch (error) {
      translateAwsError(error, 'listing every export');
    }
  }

  private async existing(exportId: string): Promise<ExportRecord> {
    const record = await this.get(exportId);
    if (!record) throw new NotFound(`No export ${exportId}.`);
    return record;
  }
}

function toJob(item: Record<string, unknown>): Omit<ExportRecord, 'sharedWith'> {
  const record: Record<string, unknown> = { ...item };
  for (const key of KEY_ATTRIBUTES) delete record[key];
  return record as unknown as Omit<ExportRecord, 'sharedWith'>;
}

const toPerson = (item: Record<string, unknown>): JobPerson => ({
  userId: String(item.userId),
  username: String(item.username),
  email: String(item.email),
});

const withoutUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
