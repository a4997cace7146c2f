import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExportProgress, ExportProgressSnapshot, SliceCheckpoint } from '../../core/ports';
import { translateAwsError } from './transient';

/**
 * Progress of running exports, in the connections table (CONNECTIONS_TABLE, see dynamo-rendezvous.ts):
 *   `PROGRESS#<exportId>` / `PROGRESS`: attributes rowsWritten, totalRows?, updatedAt (ISO 8601)
 *   TTL attribute `expiresAt` (epoch seconds): a day, beyond the longest export; the status route
 *   only reads it while the execution runs.
 * Each record is one PutItem replacing the last (the writer sends one at a time, in order). A sliced
 * export's slices each set their own attributes on that item with UpdateItem, never touching each other's:
 *   `slice<N>Rows` (rows written by slice N) and `slice<N>Checkpoint` (its finished parts, SliceCheckpoint);
 * `get` adds the slices' rows to rowsWritten.
 */
const TTL_SECONDS = 24 * 60 * 60;
const progressKey = (exportId: string) => ({ pk: `PROGRESS#${exportId}`, sk: 'PROGRESS' });

export class DynamoExportProgress implements ExportProgress {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(exportId: string, progress: ExportProgressSnapshot): Promise<void> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...progressKey(exportId),
            rowsWritten: progress.rowsWritten,
            ...(progress.totalRows !== undefined ? { totalRows: progress.totalRows } : {}),
            updatedAt: progress.updatedAt,
            expiresAt: Math.floor(this.now().getTime() / 1000) + TTL_SECONDS,
          },
        }),
      );
    } catch (error) {
      translateAwsError(error, `recording the progress of export ${exportId}`);
    }
  }

  async recordSlice(exportId: string, slice: number, rowsWritten: number, updatedAt: string): Promise<void> {
    await this.setSliceAttribute(exportId, `slice${sliceNumber(slice)}Rows`, rowsWritten, updatedAt, 'recording the progress of a slice of export');
  }

  async recordSliceCheckpoint(exportId: string, slice: number, checkpoint: SliceCheckpoint): Promise<void> {
    await this.setSliceAttribute(exportId, `slice${sliceNumber(slice)}Checkpoint`, checkpoint, undefined, 'recording a checkpoint of export');
  }

  async sliceCheckpoint(exportId: string, slice: number): Promise<SliceCheckpoint | undefined> {
    const item = await this.item(exportId);
    const checkpoint = item?.[`slice${sliceNumber(slice)}Checkpoint`] as SliceCheckpoint | undefined;
    return checkpoint && typeof checkpoint.parts === 'number' ? checkpoint : undefined;
  }

  private async setSliceAttribute(exportId: string, name: string, value: unknown, updatedAt: string | undefined, what: string): Promise<void> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: progressKey(exportId),
          UpdateExpression: `SET #value = :value, expiresAt = :expiresAt${updatedAt ? ', updatedAt = :updatedAt' : ''}`,
          ExpressionAttributeNames: { '#value': name },
          ExpressionAttributeValues: {
            ':value': value,
            ':expiresAt': Math.floor(this.now().getTime() / 1000) + TTL_SECONDS,
            ...(updatedAt ? { ':updatedAt': updatedAt } : {}),
          },
        }),
      );
    } catch (error) {
      translateAwsError(error, `${what} ${exportId}`);
    }
  }

  private async item(exportId: string): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.documents.send(new GetCommand({ TableName: this.table, Key: progressKey(exportId) }))).Item;
    } catch (error) {
      translateAwsError(error, `reading the progress of export ${exportId}`);
    }
  }

  async get(exportId: string): Promise<ExportProgressSnapshot | undefined> {
    const item = await this.item(exportId);
    if (!item || typeof item.updatedAt !== 'string') return undefined;
    let sliceRows = 0;
    for (const [name, value] of Object.entries(item)) if (/^slice\d+Rows$/.test(name) && typeof value === 'number') sliceRows += value;
    const recorded = typeof item.rowsWritten === 'number' ? item.rowsWritten : 0;
    return {
      rowsWritten: recorded + sliceRows,
      ...(typeof item.totalRows === 'number' ? { totalRows: item.totalRows } : {}),
      updatedAt: item.updatedAt,
    };
  }
}

const sliceNumber = (slice: number): number => {
  if (!Number.isInteger(slice) || slice < 0) throw new Error(`not a slice number: ${slice}`);
  return slice;
};
