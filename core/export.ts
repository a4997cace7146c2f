import { exportAuditEntry } from './audit';
import { exportColumns, postsToCsvStream, type CsvProgress } from './csv';
import { NotFound } from './errors';
import type { DownloadRequest, ExportJob, ExportReport, ExportStatus, Post, User } from './model';
import type {
  AuditLog,
  Clock,
  ConnectionRendezvous,
  ExecutionDescription,
  ExecutionService,
  ExportProgress,
  IdGenerator,
  Mailer,
  ObjectStore,
  PushChannel,
  SearchSource,
} from './ports';

/**
 * The export use-cases: starting an export, reporting its status, and the tasks of
 * statemachines/export.asl.yaml. Each takes only the ports and configuration values it needs.
 */

/** Task inputs, as the state machine shapes them (see Parameters / ResultPath in export.asl.yaml). */
export type EmailLinkInput = ExportJob & { report: ExportReport };
export interface BrowserWaitInput {
  taskToken: string;
  executionArn: string;
}
export interface PushLinkInput {
  executionArn: string;
  exportId: string;
  requestedBy: User;
  connectionId: string | null;
  report: ExportReport;
}
export interface ExportSuccessInput {
  executionArn: string;
  job: ExportJob;
  report: ExportReport;
}
/** What a Catch puts at `$.failure`. */
export interface ExportFailure {
  Error: string;
  Cause?: string;
}
export interface ExportFailureInput {
  executionArn: string;
  job: ExportJob;
  failure: ExportFailure;
}

export type PushReadyMessage = { type: 'export.ready'; executionArn: string; url: string; expiresAt: string; rowCount: number };
export type PushFailedMessage = { type: 'export.failed'; executionArn: string; error: string };
export type PushOutcome = 'delivered' | 'gone' | 'no-connection';

/** SigV4 presigned URLs live at most seven days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60;
const NOT_FOUND_MESSAGE = 'No export with that executionArn.';
/** Progress is recorded when this long or this many rows have passed since the last record, whichever comes first. */
export const PROGRESS_INTERVAL_MS = 2_000;
export const PROGRESS_EVERY_ROWS = 20_000;

/** Where the use-cases report trouble they carry on from (pino's `warn` fits). */
export interface WarningLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

// ---------------------------------------------------------------------------------------------
// Starting an export and reading its status (HTTP API)

export async function requestExport(
  deps: { executions: ExecutionService; ids: IdGenerator; clock: Clock },
  user: User,
  request: DownloadRequest,
): Promise<{ executionArn: string }> {
  const exportId = deps.ids.newId();
  const job: ExportJob = {
    exportId,
    requestedBy: { userId: user.userId, username: user.username, email: user.email, groups: [...user.groups] },
    type: request.type,
    searchCriteria: request.searchCriteria,
    ...(request.columns ? { columns: request.columns } : {}),
    requestedAt: deps.clock.now().toISOString(),
  };
  const { executionArn } = await deps.executions.start('export', exportId, job);
  return { executionArn };
}

export async function exportStatus(
  deps: { executions: ExecutionService; objects: ObjectStore; clock: Clock; exportProgress: ExportProgress; log?: WarningLog },
  user: User,
  executionArn: string,
): Promise<ExportStatus> {
  const { description, job } = await ownedExport(deps.executions, user, executionArn);
  const base = { executionArn, type: job.type, requestedAt: job.requestedAt };
  switch (description.status) {
    case 'SUCCEEDED': {
      const report = asExportReport(description.output);
      if (!report) return { ...base, status: 'FAILED', error: 'The export finished without producing a file.' };
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

// ---------------------------------------------------------------------------------------------
// Workflow tasks

export async function recordExportRequest(deps: { audit: AuditLog; clock: Clock }, job: ExportJob, executionArn?: string): Promise<void> {
  await deps.audit.record(exportAuditEntry(job, 'REQUESTED', deps.clock.now(), { ...(executionArn ? { executionArn } : {}) }));
}

/** Streams every match into the exports bucket as CSV; memory stays flat whatever the row count. */
export async function generateCsvReport(
  deps: {
    search: SearchSource;
    objects: ObjectStore;
    clock: Clock;
    exportProgress: ExportProgress;
    log?: WarningLog;
    config: { exportsBucket: string; exportTtlHours: number };
  },
  job: ExportJob,
): Promise<ExportReport> {
  const progress = { rows: 0 };
  const reporter = new ProgressReporter(deps, job.exportId);
  // Counted beside the export, not before it: the first rows need not wait for the count.
  void Promise.resolve()
    .then(() => deps.search.search(job.searchCriteria, { page: 1, pageSize: 1 }))
    .then(
      (page) => reporter.knowTotal(page.total),
      (error: unknown) => reporter.warn(error, 'Could not count the rows to export; progress goes without a total'),
    );
  const batches = reportingProgress(deps.search.scan(job.searchCriteria), progress, reporter);
  const body = postsToCsvStream(batches, exportColumns(job.columns), progress);
  const bucket = deps.config.exportsBucket;
  const key = reportKey(job);
  const { bytes } = await deps.objects.putStream(bucket, key, body, {
    contentType: 'text/csv; charset=utf-8',
    contentDisposition: attachment(downloadNameOf(job)),
    metadata: { 'export-id': job.exportId },
  });
  // Counted from when the file exists: the bucket lifecycle (and the local sweeper) count from there too.
  const expiresAt = new Date(deps.clock.now().getTime() + deps.config.exportTtlHours * 3_600_000).toISOString();
  return { bucket, key, rowCount: progress.rows, bytes, expiresAt };
}

/** Passes the batches through; once the CSV has taken one, tells the reporter how many rows are written. */
async function* reportingProgress(
  batches: AsyncIterable<Post[]>,
  counter: CsvProgress,
  reporter: ProgressReporter,
): AsyncGenerator<Post[]> {
  for await (const batch of batches) {
    yield batch;
    reporter.rowsWritten(counter.rows);
  }
}

/**
 * Records progress now and then, never more than one write at a time, never awaited by the export:
 * a slow or failing progress store costs the export nothing (a failed write is logged and skipped).
 */
class ProgressReporter {
  private rows = 0;
  private total: number | undefined;
  private lastRows = -1;
  private lastAt = 0;
  private writing = false;

  constructor(
    private readonly deps: { exportProgress: ExportProgress; clock: Clock; log?: WarningLog },
    private readonly exportId: string,
  ) {}

  knowTotal(total: number): void {
    this.total = total;
    this.write(this.deps.clock.now());
  }

  rowsWritten(rows: number): void {
    this.rows = rows;
    if (this.writing) return;
    const now = this.deps.clock.now();
    if (rows - this.lastRows >= PROGRESS_EVERY_ROWS || now.getTime() - this.lastAt >= PROGRESS_INTERVAL_MS) this.write(now);
  }

  warn(error: unknown, message: string): void {
    this.deps.log?.warn({ exportId: this.exportId, err: error }, message);
  }

  private write(now: Date): void {
    if (this.writing) return;
    this.writing = true;
    this.lastRows = this.rows;
    this.lastAt = now.getTime();
    const snapshot = {
      rowsWritten: this.rows,
      ...(this.total !== undefined ? { totalRows: this.total } : {}),
      updatedAt: now.toISOString(),
    };
    let recording: Promise<void>;
    try {
      recording = this.deps.exportProgress.record(this.exportId, snapshot);
    } catch (error) {
      recording = Promise.reject(error);
    }
    recording
      .catch((error: unknown) => this.warn(error, 'Could not record export progress; the export carries on'))
      .finally(() => {
        this.writing = false;
      });
  }
}

export async function emailLinkToUser(
  deps: { objects: ObjectStore; mailer: Mailer; clock: Clock; config: { appUrl: string } },
  input: EmailLinkInput,
): Promise<void> {
  const { report, requestedBy } = input;
  const url = (await presignReport(deps, report, downloadNameOf(input))) ?? deps.config.appUrl;
  const expires = new Date(report.expiresAt).toUTCString();
  const rows = rowsInWords(report.rowCount);
  await deps.mailer.send({
    to: requestedBy.email,
    subject: `Your Ferry export is ready (${rows})`,
    text: [
      `Hello ${requestedBy.username},`,
      '',
      `Your export of ${rows} is ready. Download the CSV file here:`,
      '',
      url,
      '',
      `The link works until ${expires}; after that the file is deleted.`,
      `If the link has stopped working before then, open Ferry (${deps.config.appUrl}) for a fresh one.`,
      '',
      'Ferry',
    ].join('\n'),
    html: [
      `<p>Hello ${escapeHtml(requestedBy.username)},</p>`,
      `<p>Your export of ${escapeHtml(rows)} is ready.</p>`,
      `<p><a href="${escapeHtml(url)}">Download the CSV file</a></p>`,
      `<p>The link works until ${escapeHtml(expires)}; after that the file is deleted.`,
      ` If the link has stopped working before then, open <a href="${escapeHtml(deps.config.appUrl)}">Ferry</a> for a fresh one.</p>`,
    ].join('\n'),
  });
}

/** The token half of the rendezvous; if the browser is already connected, the task resumes at once. */
export async function waitForBrowserConnection(
  deps: { rendezvous: ConnectionRendezvous; executions: ExecutionService },
  input: BrowserWaitInput,
): Promise<void> {
  const { connectionId } = await deps.rendezvous.attachTaskToken(input.executionArn, input.taskToken);
  if (connectionId) await resumeWaitingTask(deps.executions, input.taskToken, connectionId);
}

/** The connection half of the rendezvous (WebSocket `$connect`); only the export's owner may connect. */
export async function connectBrowser(
  deps: { rendezvous: ConnectionRendezvous; executions: ExecutionService },
  user: User,
  executionArn: string,
  connectionId: string,
): Promise<void> {
  await ownedExport(deps.executions, user, executionArn);
  const { taskToken } = await deps.rendezvous.attachConnection(executionArn, connectionId);
  if (taskToken) await resumeWaitingTask(deps.executions, taskToken, connectionId);
}

export async function disconnectBrowser(deps: { rendezvous: ConnectionRendezvous }, connectionId: string): Promise<void> {
  await deps.rendezvous.detachConnection(connectionId);
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
  const { report } = input;
  // The file name was set on the object when it was written; this task does not know requestedAt.
  const url = await presignReport(deps, report);
  if (!url) return 'no-connection';
  const message: PushReadyMessage = {
    type: 'export.ready',
    executionArn: input.executionArn,
    url,
    expiresAt: report.expiresAt,
    rowCount: report.rowCount,
  };
  return deps.push.post(connectionId, message);
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
    config: { adminEmail: string; appUrl: string };
  },
  input: ExportFailureInput,
): Promise<void> {
  const { executionArn, job, failure } = input;
  const detail = failureDetail(failure);
  await deps.audit.record(exportAuditEntry(job, 'FAILED', deps.clock.now(), { executionArn, error: detail }));

  const userError = plainFailure(failure);
  const results = await Promise.allSettled([
    tellUserAboutFailure(deps, input, userError),
    deps.mailer.send({
      to: deps.config.adminEmail,
      subject: `Ferry export failed: ${failure.Error}`,
      text: [
        'An export failed.',
        '',
        `Execution: ${executionArn}`,
        `User: ${job.requestedBy.username} (${job.requestedBy.userId}, ${job.requestedBy.email})`,
        `Delivery: ${job.type}`,
        `Requested at: ${job.requestedAt}`,
        `Search criteria: ${JSON.stringify(job.searchCriteria)}`,
        `Error: ${failure.Error}`,
        `Cause: ${failure.Cause ?? '(none)'}`,
      ].join('\n'),
    }),
  ]);
  const rejected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (rejected) throw rejected.reason;
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** Where a report lives: built only from ids we issued, never from text the user typed. */
export const reportKey = (job: Pick<ExportJob, 'exportId' | 'requestedBy'>): string =>
  `exports/${encodeURIComponent(job.requestedBy.userId)}/${job.exportId}.csv`;

/** The file name the browser saves, e.g. `ferry-export-2024-05-01-101112.csv`. */
export function downloadNameOf(job: Pick<ExportJob, 'exportId' | 'requestedAt'>): string {
  const at = job.requestedAt.match(/^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})/);
  return at ? `ferry-export-${at[1]}-${at[2]}${at[3]}${at[4]}.csv` : `ferry-export-${job.exportId}.csv`;
}

const attachment = (fileName: string): string => `attachment; filename="${fileName}"`;

/** A link valid until the report expires; none once it has. */
async function presignReport(
  deps: { objects: ObjectStore; clock: Clock },
  report: ExportReport,
  downloadName?: string,
): Promise<string | undefined> {
  const seconds = Math.floor((Date.parse(report.expiresAt) - deps.clock.now().getTime()) / 1000);
  if (!(seconds > 0)) return undefined;
  return deps.objects.presignGet(report.bucket, report.key, Math.min(seconds, MAX_PRESIGN_SECONDS), downloadName);
}

/** Resumes "Wait for browser connection"; a token already used (double send) or timed out is fine. */
async function resumeWaitingTask(executions: ExecutionService, taskToken: string, connectionId: string): Promise<void> {
  try {
    await executions.sendTaskSuccess(taskToken, { connectionId });
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
  }
}

async function ownedExport(
  executions: ExecutionService,
  user: User,
  executionArn: string,
): Promise<{ description: ExecutionDescription; job: ExportJob }> {
  const description = await executions.describe(executionArn);
  const job = description ? asExportJob(description.input) : undefined;
  // Someone else's export is indistinguishable from one that does not exist.
  if (!description || !job || job.requestedBy.userId !== user.userId) throw new NotFound(NOT_FOUND_MESSAGE);
  return { description, job };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function asExportJob(input: unknown): ExportJob | undefined {
  if (!isRecord(input) || typeof input.exportId !== 'string' || !isRecord(input.requestedBy)) return undefined;
  if (typeof input.requestedBy.userId !== 'string') return undefined;
  return input as unknown as ExportJob;
}

function asExportReport(output: unknown): ExportReport | undefined {
  if (!isRecord(output)) return undefined;
  const { bucket, key, rowCount, expiresAt } = output;
  if (typeof bucket !== 'string' || typeof key !== 'string' || typeof rowCount !== 'number' || typeof expiresAt !== 'string')
    return undefined;
  return output as unknown as ExportReport;
}

function plainExecutionError(description: ExecutionDescription): string {
  if (description.status === 'TIMED_OUT') return 'The export took too long and was stopped.';
  if (description.status === 'ABORTED') return 'The export was cancelled.';
  if (description.error === 'ExportFailed' || !description.error) return 'The export could not be completed. The Ferry team has been told.';
  return plainFailure({ Error: description.error, ...(description.cause ? { Cause: description.cause } : {}) });
}

/** The message inside a Catch's Cause: Lambda puts `{"errorType","errorMessage",…}` there as JSON. */
function causeMessage(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (isRecord(parsed) && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: the cause is already plain text.
  }
  return cause;
}

const failureDetail = (failure: ExportFailure): string => {
  const message = causeMessage(failure.Cause);
  return (message ? `${failure.Error}: ${message}` : failure.Error).slice(0, 1000);
};

/** What the user is told: plain words, never a stack trace or an internal name. */
export function plainFailure(failure: ExportFailure): string {
  const name = failure.Error;
  if (name === 'States.Timeout' || name === 'States.HeartbeatTimeout') return 'The export took too long and was stopped.';
  if (name === 'Transient' || name.startsWith('Lambda.') || name === 'States.TaskFailed')
    return 'A service the export depends on was unavailable. Please try again later.';
  if (name === 'InvalidInput') return `The export request was not valid: ${causeMessage(failure.Cause) ?? 'please check it'}.`;
  return 'The export could not be completed because of an unexpected error. The Ferry team has been told.';
}

async function tellUserAboutFailure(
  deps: { mailer: Mailer; push: PushChannel; rendezvous: ConnectionRendezvous; config: { appUrl: string } },
  { executionArn, job }: ExportFailureInput,
  error: string,
): Promise<void> {
  if (job.type === 'email') {
    await deps.mailer.send({
      to: job.requestedBy.email,
      subject: 'Your Ferry export could not be completed',
      text: [
        `Hello ${job.requestedBy.username},`,
        '',
        `Your export requested at ${new Date(job.requestedAt).toUTCString()} could not be completed.`,
        error,
        '',
        `You can try again from Ferry: ${deps.config.appUrl}`,
        '',
        'Ferry',
      ].join('\n'),
    });
  } else if (job.type === 'push') {
    const connectionId = await deps.rendezvous.connectionOf(executionArn);
    if (!connectionId) return;
    const message: PushFailedMessage = { type: 'export.failed', executionArn, error };
    await deps.push.post(connectionId, message);
  }
  // direct: the browser is polling and sees FAILED with the same plain words.
}

const rowsInWords = (count: number): string => `${count.toLocaleString('en-US')} ${count === 1 ? 'row' : 'rows'}`;

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
