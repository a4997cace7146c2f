import { exportSizeRule } from '../capacity';
import type { DownloadRequestAccepted, ExportStatus } from '../contract';
import { InvalidInput } from '../errors';
import { checkCriteria } from '../search-criteria';
import type { DownloadRequest, User } from '../model';
import type {
  AuditLog,
  Clock,
  ExecutionService,
  ExportProgress,
  ExportRecords,
  IdGenerator,
  Mailer,
  ObjectStore,
  SearchSource,
  UserDirectory,
  WarningLog,
} from '../ports';
import { presignReport, type ExportJob } from './job';
import { grant, ownedExportOfExecution, peopleNamed, progressOf } from './jobs';
import type { ExportRecord } from './records';
import { NO_FILE_MESSAGE } from './messages';

/** The export's HTTP use-cases: starting an export and reporting its status. The workflow's tasks are in ./tasks.ts. */

export async function requestExport(
  deps: {
    executions: ExecutionService;
    ids: IdGenerator;
    clock: Clock;
    search: SearchSource;
    exportJobs: ExportRecords;
    users?: UserDirectory;
    mailer?: Mailer;
    audit?: AuditLog;
    config: { maxExportRows: number; appUrl: string };
  },
  user: User,
  request: DownloadRequest,
): Promise<DownloadRequestAccepted> {
  // Checked as a search is: an invalid one would otherwise start and "succeed" with 0 rows.
  checkCriteria(request.searchCriteria, 'searchCriteria');
  // Unknown usernames are refused before anything starts.
  const shareWith = request.shareWith && request.shareWith.length > 0 && deps.users ? await peopleNamed(deps.users, request.shareWith, 'shareWith') : [];
  // Refused up front: an export past what one task writes in its timeout would be killed at minute 15.
  const { total } = await deps.search.search(request.searchCriteria, { page: 1, pageSize: 1 });
  if (total > deps.config.maxExportRows) throw new InvalidInput(exportSizeRule(total, deps.config.maxExportRows), 'searchCriteria');
  const exportId = deps.ids.newId();
  const requestedAt = deps.clock.now().toISOString();
  const job: ExportJob = {
    exportId,
    requestedBy: { userId: user.userId, username: user.username, email: user.email, groups: [...user.groups] },
    delivery: request.delivery,
    searchCriteria: request.searchCriteria,
    ...(request.columns ? { columns: request.columns } : {}),
    ...(request.format && request.format !== 'csv' ? { format: request.format } : {}),
    ...(request.excel ? { excel: true } : {}),
    ...(request.gzip ? { gzip: true } : {}),
    requestedAt,
  };
  // The record first: the job is in the user's list before its execution can write to it.
  const record = newExportRecord(job);
  await deps.exportJobs.create(record);
  const { executionArn } = await deps.executions.start('export', exportId, job);
  await deps.exportJobs.update(exportId, { executionArn }, deps.clock.now());
  if (shareWith.length > 0 && deps.mailer && deps.audit) {
    const mailer = deps.mailer;
    const audit = deps.audit;
    await grant({ exportJobs: deps.exportJobs, mailer, audit, clock: deps.clock, config: { appUrl: deps.config.appUrl } }, user, { ...record, executionArn }, shareWith);
  }
  return { executionArn, exportId, estimatedRows: total };
}

/** The record a new export starts with (also for an admin's retry and an execution that started without one). */
export function newExportRecord(job: ExportJob): ExportRecord {
  return {
    exportId: job.exportId,
    owner: { userId: job.requestedBy.userId, username: job.requestedBy.username, email: job.requestedBy.email },
    delivery: job.delivery,
    searchCriteria: job.searchCriteria,
    ...(job.columns ? { columns: job.columns } : {}),
    ...(job.retryOf ? { retryOf: job.retryOf } : {}),
    status: 'QUEUED',
    createdAt: job.requestedAt,
    updatedAt: job.requestedAt,
    sharedWith: [],
  };
}

/**
 * `GET /api/download-request/{executionArn}`: the old route, answered from the job record (never
 * DescribeExecution). The execution's name is the export id; the record must name that same execution.
 */
export async function exportStatus(
  deps: { exportJobs: ExportRecords; objects: ObjectStore; clock: Clock; exportProgress: ExportProgress; log?: WarningLog },
  user: User,
  executionArn: string,
): Promise<ExportStatus> {
  const record = await ownedExportOfExecution(deps.exportJobs, user, executionArn);
  const base = { executionArn, delivery: record.delivery, requestedAt: record.createdAt };
  switch (record.status) {
    case 'SUCCEEDED':
    case 'EXPIRED': {
      if (!record.bucket || !record.key || !record.expiresAt) return { ...base, status: 'FAILED', error: NO_FILE_MESSAGE };
      const report = { bucket: record.bucket, key: record.key, expiresAt: record.expiresAt, rowCount: record.rowCount ?? 0, bytes: record.bytes ?? 0 };
      const url = await presignReport(deps, report, record.fileName);
      return { ...base, status: 'SUCCEEDED', rowCount: report.rowCount, expiresAt: report.expiresAt, ...(url ? { url } : {}) };
    }
    case 'FAILED':
    case 'CANCELLED':
      return { ...base, status: 'FAILED', error: record.error ?? (record.status === 'CANCELLED' ? 'The export was cancelled.' : 'The export could not be completed. The Ferry team has been told.') };
    default: {
      const progress = await progressOf(deps, record);
      return { ...base, status: 'RUNNING', ...(progress ? { progress } : {}) };
    }
  }
}
