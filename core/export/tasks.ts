import type {
  AuditLog,
  Clock,
  ConnectionRendezvous,
  ExportProgress,
  ExportRecords,
  Mailer,
  ObjectStore,
  PushChannel,
  SearchSource,
  WarningLog,
} from '../ports';
import { Conflict } from '../errors';
import type { Post } from '../model';
import { attemptAll, failureDetail, type WorkflowFailure } from '../workflow-failure';
import { exportAuditEntry } from './audit';
import { exportColumns } from './csv';
import { contentTypeOf, exportFileStream, fileOptionsOf } from './file-format';
import { downloadNameOf, presignReport, reportKey, type ExportJob, type ExportReport } from './job';
import { adminFailureMail, failedPush, plainFailure, readyMail, readyPush, userFailureMail } from './messages';
import { ProgressReporter, reportingProgress } from './progress';
import type { ExportChange } from './records';
import {
  assembleParts,
  writeExportSlice as writeSlice,
  type AssembleInput,
  type SliceRequest,
  type SliceWritten,
  type WriteSliceInput,
} from './slices';
import { newExportRecord } from './use-cases';

/** The tasks of statemachines/export.asl.yaml ("Wait for browser connection" is in ./rendezvous.ts). */

/** Task inputs, as the state machine shapes them (see Parameters / ResultPath in export.asl.yaml). */
export type EmailLinkInput = ExportJob & { report: ExportReport };
export interface PushLinkInput {
  executionArn: string;
  exportId: string;
  requestedBy: ExportJob['requestedBy'];
  connectionId: string | null;
  report: ExportReport;
}
export interface ExportSuccessInput {
  executionArn: string;
  job: ExportJob;
  report: ExportReport;
}
/** What "Push link to browser" reports: posted, the connection was gone, or nobody was connected. */
export type PushOutcome = 'delivered' | 'gone' | 'no-connection';
export interface ExportFailureInput {
  executionArn: string;
  job: ExportJob;
  failure: WorkflowFailure;
}

/** Audits the request and marks the job RUNNING (creating its record if the execution started without one: a retry). */
export async function recordExportRequest(
  deps: { audit: AuditLog; clock: Clock; exportJobs: ExportRecords },
  job: ExportJob,
  executionArn?: string,
): Promise<void> {
  await deps.audit.record(exportAuditEntry(job, 'REQUESTED', deps.clock.now(), { ...(executionArn ? { executionArn } : {}) }));
  const now = deps.clock.now();
  // A cancelled job stays cancelled.
  await markJob(deps, job, { status: 'RUNNING', startedAt: now.toISOString(), ...(executionArn ? { executionArn } : {}) }, now);
}

/**
 * Moves a job still under way (QUEUED or RUNNING) on; undefined when it is not under way any more (cancelled,
 * or already finished). An execution that started without a record (an admin's retry) gets one here.
 */
async function markJob(deps: { exportJobs: ExportRecords }, job: ExportJob, change: ExportChange, at: Date) {
  if (!(await deps.exportJobs.get(job.exportId))) await deps.exportJobs.create(newExportRecord(job));
  return deps.exportJobs.update(job.exportId, change, at, ['QUEUED', 'RUNNING']);
}

type ReportDeps = {
  search: SearchSource;
  objects: ObjectStore;
  clock: Clock;
  exportProgress: ExportProgress;
  exportJobs: ExportRecords;
  log?: WarningLog;
  config: { exportsBucket: string; exportTtlHours: number };
};

/**
 * "Generate CSV report": above `exportSliceRows` rows (the search total), asks the workflow to slice the export
 * (core/export/slices.ts) instead of writing it; otherwise writes it whole, the count it waited for giving the
 * progress its total. Without a threshold nothing waits for the count.
 */
export async function generateReportOrSlice(
  deps: ReportDeps & { config: { exportSliceRows?: number } },
  job: ExportJob,
): Promise<ExportReport | SliceRequest> {
  const sliceRows = deps.config.exportSliceRows;
  if (sliceRows === undefined || !Number.isFinite(sliceRows)) return generateCsvReport(deps, job);
  const total = await deps.search.search(job.searchCriteria, { page: 1, pageSize: 1 }).then(
    (page) => page.total,
    (error: unknown) => {
      deps.log?.warn({ exportId: job.exportId, err: error }, 'Could not count the rows to export; one task writes it');
      return undefined;
    },
  );
  if (total !== undefined && total > sliceRows) return { sliced: true, totalRows: total };
  return generateCsvReport(deps, job, total);
}

/**
 * Streams every match into the exports bucket in the job's format; memory stays flat whatever the row count.
 * `knownTotal`: the count is already known; otherwise it is counted beside the export (the first rows need not wait).
 */
export async function generateCsvReport(deps: ReportDeps, job: ExportJob, knownTotal?: number): Promise<ExportReport> {
  const progress = { rows: 0 };
  const reporter = new ProgressReporter(deps, job.exportId);
  if (knownTotal !== undefined) reporter.knowTotal(knownTotal);
  else
    void Promise.resolve()
      .then(() => deps.search.search(job.searchCriteria, { page: 1, pageSize: 1 }))
      .then(
        (page) => reporter.knowTotal(page.total),
        (error: unknown) => reporter.warn(error, 'Could not count the rows to export; progress goes without a total'),
      );
  const batches = untilCancelled(deps, job.exportId, reportingProgress(deps.search.scan(job.searchCriteria), progress, reporter));
  const fileOptions = fileOptionsOf(job);
  const body = exportFileStream(batches, exportColumns(job.columns), fileOptions, progress);
  const bucket = deps.config.exportsBucket;
  const key = reportKey(job);
  const { bytes } = await deps.objects.putStream(bucket, key, body, {
    contentType: contentTypeOf(fileOptions),
    contentDisposition: `attachment; filename="${downloadNameOf(job)}"`,
    metadata: { 'export-id': job.exportId },
  });
  return finishReport(deps, job, { bucket, key, rowCount: progress.rows, bytes });
}

/** The file exists: the job SUCCEEDED with it (or, cancelled meanwhile, the file goes). */
async function finishReport(
  deps: { objects: ObjectStore; clock: Clock; exportJobs: ExportRecords; config: { exportTtlHours: number } },
  job: ExportJob,
  file: { bucket: string; key: string; rowCount: number; bytes: number },
): Promise<ExportReport> {
  const { bucket, key, bytes } = file;
  // Counted from when the file exists: the bucket lifecycle (and the local sweeper) count from there too.
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + deps.config.exportTtlHours * 3_600_000).toISOString();
  const report = { bucket, key, rowCount: file.rowCount, bytes, expiresAt };
  // The job succeeds as soon as its file exists, whatever the delivery still has to do (a push may wait for its browser).
  const done = await markJob(
    deps,
    job,
    { status: 'SUCCEEDED', bucket, key, fileName: downloadNameOf(job), rowCount: report.rowCount, bytes, expiresAt, finishedAt: now.toISOString() },
    now,
  );
  // Cancelled while writing: the file must not outlive the job.
  if (!done) await deps.objects.delete(bucket, key);
  return report;
}

/** "Plan the export's slices". */
export { planExportSlices } from './slices';

/** "Write one slice": its rows into its parts, stopping when the job is cancelled (core/export/slices.ts). */
export async function writeExportSlice(
  deps: { search: SearchSource; objects: ObjectStore; exportProgress: ExportProgress; exportJobs: ExportRecords; clock: Clock; log?: WarningLog },
  input: WriteSliceInput,
): Promise<SliceWritten> {
  return writeSlice({ ...deps, untilCancelled: (batches) => untilCancelled(deps, input.job.exportId, batches) }, input);
}

/** "Assemble the export file": completes the upload in slice order and records the file as the single task does. */
export async function assembleExportFile(
  deps: { objects: ObjectStore; clock: Clock; exportJobs: ExportRecords; config: { exportTtlHours: number } },
  input: AssembleInput,
): Promise<ExportReport> {
  const { rows, bytes } = await assembleParts(deps, input.slicing);
  return finishReport(deps, input, { bucket: input.slicing.bucket, key: input.slicing.key, rowCount: rows, bytes });
}

/** How often a running report asks whether its job was cancelled. */
export const CANCEL_CHECK_MS = 1_000;

/**
 * Passes the batches through, asking the job record now and then whether the export was cancelled:
 * StopExecution cannot stop a running Lambda, so the task stops itself. Throwing here fails the CSV
 * stream, and the upload aborts its multipart upload (nothing incomplete is left in the bucket).
 */
async function* untilCancelled(deps: { exportJobs: ExportRecords; clock: Clock }, exportId: string, batches: AsyncIterable<Post[]>): AsyncGenerator<Post[]> {
  let lastCheck = deps.clock.now().getTime();
  for await (const batch of batches) {
    const now = deps.clock.now().getTime();
    if (now - lastCheck >= CANCEL_CHECK_MS) {
      lastCheck = now;
      if ((await deps.exportJobs.get(exportId))?.status === 'CANCELLED') throw new Conflict('The export was cancelled.');
    }
    yield batch;
  }
}

export async function emailLinkToUser(
  deps: { objects: ObjectStore; mailer: Mailer; clock: Clock; config: { appUrl: string } },
  input: EmailLinkInput,
): Promise<void> {
  const url = (await presignReport(deps, input.report, downloadNameOf(input))) ?? deps.config.appUrl;
  await deps.mailer.send(readyMail(input, input.report, url, deps.config.appUrl));
}

/**
 * Posts the link to the browser. The latest connection recorded for the execution wins over the one the
 * wait task saw (the browser may have reconnected since). A gone connection is not a failure: the
 * export stays available by polling.
 */
export async function pushLinkToBrowser(
  deps: { objects: ObjectStore; push: PushChannel; rendezvous: ConnectionRendezvous; clock: Clock },
  input: PushLinkInput,
): Promise<PushOutcome> {
  if (input.connectionId === null) return 'no-connection';
  const connectionId = (await deps.rendezvous.connectionOf(input.executionArn)) ?? input.connectionId;
  // The file name was set on the object when it was written; this task does not know requestedAt.
  const url = await presignReport(deps, input.report);
  if (!url) return 'no-connection';
  return deps.push.post(connectionId, readyPush(input.executionArn, input.report, url));
}

/** Audits the success and returns the report, which becomes the execution's output. */
export async function recordExportSuccess(deps: { audit: AuditLog; clock: Clock }, input: ExportSuccessInput): Promise<ExportReport> {
  await deps.audit.record(
    exportAuditEntry(input.job, 'SUCCEEDED', deps.clock.now(), { executionArn: input.executionArn, rowCount: input.report.rowCount }),
  );
  return input.report;
}

/**
 * The Catch of every task: audits the failure, tells the user the way they asked to hear, and alerts the
 * admins. Every step is attempted; if one fails the task fails (and is retried when transient).
 */
export async function handleExportFailure(
  deps: {
    audit: AuditLog;
    clock: Clock;
    mailer: Mailer;
    push: PushChannel;
    rendezvous: ConnectionRendezvous;
    exportJobs: ExportRecords;
    objects: ObjectStore;
    config: { adminEmail: string; appUrl: string; exportsBucket: string };
  },
  input: ExportFailureInput,
): Promise<void> {
  const { executionArn, job, failure } = input;
  // A sliced export's parts are billed until the upload is aborted; found by key (a push's Parallel Catch keeps no upload id).
  await deps.objects.abortUploadsOf(deps.config.exportsBucket, reportKey(job));
  const now = deps.clock.now();
  await deps.audit.record(exportAuditEntry(job, 'FAILED', now, { executionArn, error: failureDetail(failure) }));
  // Only a job still under way fails: one whose file exists stays SUCCEEDED (the app offers it), a cancelled one CANCELLED.
  await markJob(deps, job, { status: 'FAILED', error: plainFailure(failure), finishedAt: now.toISOString() }, now);
  await attemptAll([
    tellUserAboutFailure(deps, input, plainFailure(failure)),
    deps.mailer.send(adminFailureMail(deps.config.adminEmail, executionArn, job, failure)),
  ]);
}

async function tellUserAboutFailure(
  deps: { mailer: Mailer; push: PushChannel; rendezvous: ConnectionRendezvous; config: { appUrl: string } },
  { executionArn, job }: ExportFailureInput,
  error: string,
): Promise<void> {
  if (job.delivery === 'email') {
    await deps.mailer.send(userFailureMail(job, error, deps.config.appUrl));
  } else if (job.delivery === 'push') {
    const connectionId = await deps.rendezvous.connectionOf(executionArn);
    if (!connectionId) return;
    await deps.push.post(connectionId, failedPush(executionArn, error));
  }
  // direct: the browser is polling and sees FAILED with the same plain words.
}
