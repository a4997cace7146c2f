import { exportSizeRule } from '../capacity';
import type { DownloadRequestAccepted, ExportStatus } from '../contract';
import { InvalidInput, NotFound } from '../errors';
import { checkCriteria } from '../search-criteria';
import type { DownloadRequest, User } from '../model';
import type {
  Clock,
  ExecutionDescription,
  ExecutionService,
  ExportProgress,
  IdGenerator,
  ObjectStore,
  SearchSource,
  WarningLog,
} from '../ports';
import { asExportJob, asExportReport, downloadNameOf, presignReport, type ExportJob } from './job';
import { NOT_FOUND_MESSAGE, NO_FILE_MESSAGE, plainExecutionError } from './messages';

/** The export's HTTP use-cases: starting an export and reporting its status. The workflow's tasks are in ./tasks.ts. */

export async function requestExport(
  deps: { executions: ExecutionService; ids: IdGenerator; clock: Clock; search: SearchSource; config: { maxExportRows: number } },
  user: User,
  request: DownloadRequest,
): Promise<DownloadRequestAccepted> {
  // Checked as a search is: an invalid one would otherwise start and "succeed" with 0 rows.
  checkCriteria(request.searchCriteria, 'searchCriteria');
  // Refused up front: an export past what one task writes in its timeout would be killed at minute 15.
  const { total } = await deps.search.search(request.searchCriteria, { page: 1, pageSize: 1 });
  if (total > deps.config.maxExportRows) throw new InvalidInput(exportSizeRule(total, deps.config.maxExportRows), 'searchCriteria');
  const exportId = deps.ids.newId();
  const job: ExportJob = {
    exportId,
    requestedBy: { userId: user.userId, username: user.username, email: user.email, groups: [...user.groups] },
    delivery: request.delivery,
    searchCriteria: request.searchCriteria,
    ...(request.columns ? { columns: request.columns } : {}),
    ...(request.format && request.format !== 'csv' ? { format: request.format } : {}),
    ...(request.excel ? { excel: true } : {}),
    ...(request.gzip ? { gzip: true } : {}),
    requestedAt: deps.clock.now().toISOString(),
  };
  const { executionArn } = await deps.executions.start('export', exportId, job);
  return { executionArn, estimatedRows: total };
}

export async function exportStatus(
  deps: { executions: ExecutionService; objects: ObjectStore; clock: Clock; exportProgress: ExportProgress; log?: WarningLog },
  user: User,
  executionArn: string,
): Promise<ExportStatus> {
  const { description, job } = await ownedExport(deps.executions, user, executionArn);
  const base = { executionArn, delivery: job.delivery, requestedAt: job.requestedAt };
  switch (description.status) {
    case 'SUCCEEDED': {
      const report = asExportReport(description.output);
      if (!report) return { ...base, status: 'FAILED', error: NO_FILE_MESSAGE };
      const url = await presignReport(deps, report, downloadNameOf(job));
      return { ...base, status: 'SUCCEEDED', rowCount: report.rowCount, expiresAt: report.expiresAt, ...(url ? { url } : {}) };
    }
    case 'FAILED':
    case 'TIMED_OUT':
    case 'ABORTED':
      return { ...base, status: 'FAILED', error: plainExecutionError(description) };
    default: {
      const progress = await progressOf(deps, job.exportId, executionArn);
      return { ...base, status: 'RUNNING', ...(progress ? { progress } : {}) };
    }
  }
}

/** Progress is a courtesy: if it cannot be read, the status is still answered, without it. */
async function progressOf(
  deps: { exportProgress: ExportProgress; log?: WarningLog },
  exportId: string,
  executionArn: string,
): Promise<ExportStatus['progress']> {
  try {
    const snapshot = await deps.exportProgress.get(exportId);
    if (!snapshot) return undefined;
    return { rowsWritten: snapshot.rowsWritten, ...(snapshot.totalRows !== undefined ? { totalRows: snapshot.totalRows } : {}) };
  } catch (error) {
    deps.log?.warn({ executionArn, exportId, err: error }, 'Could not read export progress');
    return undefined;
  }
}

/** The export, if it is the caller's; someone else's is indistinguishable from one that does not exist. */
export async function ownedExport(
  executions: ExecutionService,
  user: User,
  executionArn: string,
): Promise<{ description: ExecutionDescription; job: ExportJob }> {
  const description = await executions.describe(executionArn);
  const job = description ? asExportJob(description.input) : undefined;
  if (!description || !job || job.requestedBy.userId !== user.userId) throw new NotFound(NOT_FOUND_MESSAGE);
  return { description, job };
}
