import type { ImportJobView, JobPage } from '../contract';
import { Conflict } from '../errors';
import type { User } from '../model';
import type { AuditLog, Clock, ExecutionService, ImportRecords, ObjectStore } from '../ports';
import { importAuditEntry } from './audit';
import type { ImportConfig } from './config';
import { CANCELLED_IMPORT_REASON, isFinal, ownedImport } from './records';
import { statusView } from './use-cases';

/**
 * Import jobs are a view over the import records (core/import/records.ts), not a second copy: the
 * record already carries who, what file, status, checks, rows, times and the executionArn, and a copy
 * written beside it could disagree with it.
 */
export async function listImports(
  deps: { imports: ImportRecords; objects: ObjectStore; config: Pick<ImportConfig, 'permanentBucket'> },
  user: User,
  page: { limit: number; cursor?: string },
): Promise<JobPage<ImportJobView>> {
  const { records, nextCursor } = await deps.imports.listOwnedBy(user.userId, page);
  const items = await Promise.all(
    records.map(async (record) => ({ ...(await statusView(deps, record)), kind: 'import' as const, owner: record.owner.username, size: record.size })),
  );
  return { items, ...(nextCursor ? { cursor: nextCursor } : {}) };
}

export { CANCELLED_IMPORT_REASON };

/**
 * `DELETE /api/imports/{importId}`, owner only. Before or during processing it is cancelled: the upload
 * is aborted or removed and a single import's execution stopped, so nothing more is imported (a processImport
 * still running finds the record ended before its commit and discards its staging). A finished import has
 * its files and record deleted; a quarantined file stays where the admins review it.
 */
export async function cancelOrDeleteImport(
  deps: {
    imports: ImportRecords;
    executions: ExecutionService;
    objects: ObjectStore;
    audit: AuditLog;
    clock: Clock;
    config: Pick<ImportConfig, 'permanentBucket'>;
  },
  user: User,
  importId: string,
): Promise<{ cancelled: boolean }> {
  const record = await ownedImport(deps.imports, user, importId);
  const now = deps.clock.now();
  if (!isFinal(record)) {
    if (record.batchId && record.status === 'RUNNING')
      throw new Conflict('This file is being imported with its batch; it can be deleted once the batch has finished.');
    if (record.executionArn) await deps.executions.stop(record.executionArn, `Cancelled by ${user.username}`);
    if (record.upload.method === 'multipart' && record.upload.uploadId) {
      await deps.objects.abortMultipartUpload(record.upload.bucket, record.upload.key, record.upload.uploadId).catch(() => undefined);
    }
    await deps.objects.delete(record.upload.bucket, record.upload.key);
    await deps.imports.update(importId, { status: 'CANCELLED', reason: CANCELLED_IMPORT_REASON, finishedAt: now.toISOString() }, now);
    await deps.audit.record({ ...importAuditEntry(record, 'CANCELLED', now), id: `import:${importId}:CANCELLED` });
    return { cancelled: true };
  }
  for (const key of [record.permanentKey, record.errorReportKey]) if (key) await deps.objects.delete(deps.config.permanentBucket, key);
  await deps.objects.delete(record.upload.bucket, record.upload.key);
  await deps.imports.delete(importId);
  await deps.audit.record(importAuditEntry(record, 'DELETED', now));
  return { cancelled: false };
}
