import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExportProgress, ExportProgressSnapshot } from '../../core/ports';
import { translateAwsError } from './transient';

/**
 * Progress of running exports, in the connections table (CONNECTIONS_TABLE, see dynamo-rendezvous.ts):
 *   `PROGRESS#<exportId>` / `PROGRESS`: attributes rowsWritten, totalRows?, updatedAt (ISO 8601)
 *   TTL attribute `expiresAt` (epoch seconds): a day, beyond the longest export; the status route
 *   only reads it while the execution runs.
 * Each record is one PutItem replacing the last (the writer sends one at a time, in order).
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

  async get(exportId: string): Promise<ExportProgressSnapshot | undefined> {
    try {
      const out = await this.documents.send(new GetCommand({ TableName: this.table, Key: progressKey(exportId) }));
      const item = out.Item;
      if (!item || typeof item.rowsWritten !== 'number' || typeof item.updatedAt !== 'string') return undefined;
      return {
        rowsWritten: item.rowsWritten,
        ...(typeof item.totalRows === 'number' ? { totalRows: item.totalRows } : {}),
        updatedAt: item.updatedAt,
      };
    } catch (error) {
      translateAwsError(error, `reading the progress of export ${exportId}`);
    }
  }
}
