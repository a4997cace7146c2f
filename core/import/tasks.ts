import { InvalidInput, NotFound } from '../errors';
import type {
  AuditLog,
  Clock,
  ConnectionRendezvous,
  ImportRecords,
  Mailer,
  ObjectStore,
  PushChannel,
  RejectedPost,
  SearchSource,
} from '../ports';
import { checksum } from './checksum';
import { ErrorReportWriter } from './error-report';
import { identifyFormat, type FormatVerdict } from './format';
import type { ImportRecord, ImportStatus } from './records';
import { readImportRows, type ImportBatch, type RejectedRow, type RowFormat } from './rows';
import type { ScanVerdict, VirusScanner } from './scanner';
import {
  errorReportKeyOf,
  importAuditEntry,
  importPushKey,
  isFinal,
  mapLimit,
  mustGetImport,
  permanentKeyOf,
  presignErrorReport,
  quarantineKeyOf,
  type FileTaskInput,
  type ImportConfig,
  type ImportJob,
} from './shared';

/**
 * The tasks of statemachines/import.asl.yaml. Each reads the file it works on from the upload bucket
 * as a stream (never a whole file in memory, never a local copy) and records what it found on the
 * import record, so the status endpoint shows each check as it completes.
 */

// ---------------------------------------------------------------------------------------------
// "Check the uploaded file": three checks in parallel

/** Antivirus. Fails closed: a scanner that cannot give a verdict throws (Transient is retried), never "clean". */
export async function scanForViruses(
  deps: { imports: ImportRecords; objects: ObjectStore; scanner: VirusScanner; clock: Clock },
  input: FileTaskInput,
): Promise<ScanVerdict> {
  const record = await mustGetImport(deps.imports, input.importId);
  const verdict = await deps.scanner.scan(await deps.objects.getStream(record.upload.bucket, record.upload.key));
  await deps.imports.update(
    input.importId,
    { executionArn: input.executionArn, checks: { antivirus: verdict.clean ? 'clean' : 'infected' } },
    deps.clock.now(),
  );
  return verdict;
}

export interface ChecksumOutcome {
  sha256: string;
  bytes: number;
  expectedSha256?: string;
  expectedBytes: number;
  /** `mismatch` also when the object's size is not the size declared (a multipart upload cannot enforce it). */
  verdict: 'verified' | 'unverified' | 'mismatch';
}

export async function computeChecksum(
  deps: { imports: ImportRecords; objects: ObjectStore; clock: Clock },
  input: FileTaskInput,
): Promise<ChecksumOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  const result = await checksum(await deps.objects.getStream(record.upload.bucket, record.upload.key), record.sha256);
  const verdict = result.bytes !== record.size || result.matches === false ? 'mismatch' : result.matches ? 'verified' : 'unverified';
  await deps.imports.update(
    input.importId,
    { executionArn: input.executionArn, computedSha256: result.sha256, checks: { checksum: verdict } },
    deps.clock.now(),
  );
  return {
    sha256: result.sha256,
    bytes: result.bytes,
    ...(record.sha256 ? { expectedSha256: record.sha256 } : {}),
    expectedBytes: record.size,
    verdict,
  };
}

/** Format from the first bytes and their structure; reads a bounded prefix only. */
export async function identifyImportFormat(
  deps: { imports: ImportRecords; objects: ObjectStore; clock: Clock },
  input: FileTaskInput,
): Promise<FormatVerdict> {
  const record = await mustGetImport(deps.imports, input.importId);
  const verdict = await identifyFormat(await deps.objects.getStream(record.upload.bucket, record.upload.key));
  await deps.imports.update(input.importId, { executionArn: input.executionArn, checks: { format: verdict.format } }, deps.clock.now());
  return verdict;
}

/** What "Check the uploaded file" puts at `$.checks` (its ResultSelector). */
export interface CheckResults {
  antivirus: ScanVerdict;
  checksum: ChecksumOutcome;
  format: FormatVerdict;
}

// ---------------------------------------------------------------------------------------------
// The outcomes of the Choice

type OutcomeDeps = { imports: ImportRecords; objects: ObjectStore; audit: AuditLog; mailer: Mailer; clock: Clock; config: ImportConfig };

export interface FileOutcome {
  importId: string;
  status: ImportStatus;
}

/** Infected: copy to the quarantine bucket, delete the upload, alert the admins, QUARANTINED. Safe to retry. */
export async function quarantineFile(deps: OutcomeDeps, input: FileTaskInput & { signature: string }): Promise<FileOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (record.status === 'QUARANTINED') return { importId: record.importId, status: record.status };
  const target = { bucket: deps.config.quarantineBucket, key: quarantineKeyOf(record) };
  await moveObject(deps.objects, record.upload, target);
  const at = deps.clock.now();
  const reason = `The file contains malware (${input.signature}). It was quarantined and nothing from it was imported.`;
  const updated = await deps.imports.update(
    record.importId,
    {
      status: 'QUARANTINED',
      quarantine: { ...target, signature: input.signature, quarantinedAt: at.toISOString() },
      reason,
      finishedAt: at.toISOString(),
    },
    at,
  );
  await deps.audit.record(importAuditEntry(updated, 'QUARANTINED', at, { executionArn: input.executionArn, error: input.signature }));
  await deps.mailer.send({
    to: deps.config.adminEmail,
    subject: `Ferry quarantined an infected upload: ${input.signature}`,
    text: [
      'An uploaded import file was infected and has been quarantined. Nothing from it was imported.',
      '',
      `Signature: ${input.signature}`,
      `File: ${record.fileName} (${record.size} bytes, claimed type ${record.contentType})`,
      `User: ${record.owner.username} (${record.owner.userId}, ${record.owner.email})`,
      `Import: ${record.importId}${record.batchId ? ` (batch ${record.batchId})` : ''}`,
      `Execution: ${input.executionArn}`,
      `Quarantined at: s3://${target.bucket}/${target.key}`,
      '',
      `Review it in Ferry's admin page: ${deps.config.appUrl}`,
    ].join('\n'),
  });
  return { importId: record.importId, status: updated.status };
}

/** Wrong format or checksum mismatch: REJECTED with the reason; the upload is deleted. */
export async function rejectFile(deps: Omit<OutcomeDeps, 'mailer'>, input: FileTaskInput & { checks: CheckResults }): Promise<FileOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (record.status === 'REJECTED') return { importId: record.importId, status: record.status };
  const reason = rejectionReason(input.checks);
  await deps.objects.delete(record.upload.bucket, record.upload.key);
  const at = deps.clock.now();
  const updated = await deps.imports.update(record.importId, { status: 'REJECTED', reason, finishedAt: at.toISOString() }, at);
  await deps.audit.record(importAuditEntry(updated, 'REJECTED', at, { executionArn: input.executionArn, error: reason }));
  return { importId: record.importId, status: updated.status };
}

export function rejectionReason(checks: CheckResults): string {
  if (checks.format.format === 'unknown') return `The file is not CSV or NDJSON: ${checks.format.reason}.`;
  const { checksum: sum } = checks;
  if (sum.bytes !== sum.expectedBytes) {
    return `The file that arrived is ${sum.bytes} bytes, not the ${sum.expectedBytes} bytes announced; it may have been cut short or changed. Please upload it again.`;
  }
  return `The file's SHA-256 (${sum.sha256}) is not the one your browser computed (${sum.expectedSha256 ?? 'none'}); it changed on the way. Please upload it again.`;
}

/** Rows handed to the search store per bulk request. */
export const IMPORT_INDEX_BATCH = 1000;

export interface ProcessOutcome extends FileOutcome {
  rowsImported: number;
  rowsRejected: number;
}

/**
 * Clean: stream-parse, validate each row, bulk-index the valid ones with ids `<importId>-<rowNumber>` (so a
 * re-run overwrites instead of duplicating), write the rejected rows with their reasons to the error report,
 * then move the original to the permanent bucket. A file that turns unreadable part-way (bad UTF-8, broken
 * quoting) is REJECTED with the rows before that point imported and counted.
 */
export async function processImport(
  deps: { imports: ImportRecords; objects: ObjectStore; search: SearchSource; audit: AuditLog; clock: Clock; config: ImportConfig },
  input: FileTaskInput & { format: RowFormat },
): Promise<ProcessOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (isFinal(record))
    return {
      importId: record.importId,
      status: record.status,
      rowsImported: record.rowsImported ?? 0,
      rowsRejected: record.rowsRejected ?? 0,
    };
  const permanent = { bucket: deps.config.permanentBucket, key: permanentKeyOf(record) };
  // A retry after the move (but before the record said so) reads the original where it now is.
  const source = (await deps.objects.head(record.upload.bucket, record.upload.key)) ? record.upload : permanent;
  const input_ = await deps.objects.getStream(source.bucket, source.key);

  const report = new ErrorReportWriter();
  const errorReportKey = errorReportKeyOf(record);
  const reportWritten = deps.objects
    .putStream(deps.config.permanentBucket, errorReportKey, report.stream, {
      contentType: 'text/csv; charset=utf-8',
      metadata: { 'import-id': record.importId },
    })
    .catch((error: unknown) => {
      // Unblocks a write waiting for 'drain', and the read, so the task fails instead of hanging.
      report.stream.destroy(error instanceof Error ? error : new Error(String(error)));
      input_.destroy();
      throw error;
    });

  let rowsImported = 0;
  let unreadable: InvalidInput | undefined;
  // One batch is held back so the last one is indexed with `refresh`: "succeeded" then means searchable.
  let held: ImportBatch | undefined;
  const indexBatch = async (batch: ImportBatch, last: boolean): Promise<void> => {
    const { rejected } = batch.posts.length > 0 ? await deps.search.indexPosts(batch.posts, { refresh: last }) : { rejected: [] };
    rowsImported += batch.posts.length - rejected.length;
    await report.write(withStoreRejections(batch, rejected));
  };
  try {
    try {
      for await (const batch of readImportRows(input_, {
        importId: record.importId,
        format: input.format,
        batchSize: IMPORT_INDEX_BATCH,
      })) {
        if (held) await indexBatch(held, false);
        held = batch;
      }
    } catch (error) {
      if (!(error instanceof InvalidInput && error.field === 'file')) throw error;
      unreadable = error;
    }
    if (held) await indexBatch(held, true);
  } catch (error) {
    report.stream.destroy();
    await reportWritten.catch(() => undefined);
    throw error;
  }
  report.end();
  await reportWritten;
  const rowsRejected = report.rowCount;

  if (source === record.upload) await moveObject(deps.objects, record.upload, permanent);
  const at = deps.clock.now();
  const reason = unreadable
    ? `The file stopped being readable part-way (${unreadable.message}); the ${rowsImported} valid rows before that point were imported.`
    : undefined;
  const updated = await deps.imports.update(
    record.importId,
    {
      status: unreadable ? 'REJECTED' : 'SUCCEEDED',
      rowsImported,
      rowsRejected,
      errorReportKey,
      permanentKey: permanent.key,
      ...(reason ? { reason } : {}),
      finishedAt: at.toISOString(),
    },
    at,
  );
  await deps.audit.record(
    importAuditEntry(updated, unreadable ? 'REJECTED' : 'SUCCEEDED', at, {
      executionArn: input.executionArn,
      rowCount: rowsImported,
      ...(reason ? { error: reason } : {}),
    }),
  );
  return { importId: record.importId, status: updated.status, rowsImported, rowsRejected };
}

/**
 * The batch's rejected rows plus the posts the search store refused (with its reason), in row order. A refused
 * post's row number is the suffix of its id (importedPostId); its raw cell is the post as Ferry read it.
 */
function withStoreRejections(batch: ImportBatch, refused: readonly RejectedPost[]): RejectedRow[] {
  if (refused.length === 0) return batch.rejected;
  const posts = new Map(batch.posts.map((post) => [post.id, post]));
  const rows = refused.map(({ id, reason }) => {
    const { id: _id, ...row } = posts.get(id) ?? { id };
    return { rowNumber: Number(id.slice(id.lastIndexOf('-') + 1)), reason, raw: JSON.stringify(row) };
  });
  return [...batch.rejected, ...rows].sort((a, b) => a.rowNumber - b.rowNumber);
}

/** Copy then delete; when a retry finds the source already gone, the copy must be there. */
async function moveObject(objects: ObjectStore, from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<void> {
  if (await objects.head(from.bucket, from.key)) {
    await objects.copy(from, to);
    await objects.delete(from.bucket, from.key);
  } else if (!(await objects.head(to.bucket, to.key))) {
    throw new NotFound(`Neither s3://${from.bucket}/${from.key} nor its copy s3://${to.bucket}/${to.key} exists.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Notification and failure

export interface ImportSummary {
  files: number;
  succeeded: number;
  quarantined: number;
  rejected: number;
  failed: number;
  rowsImported: number;
  rowsRejected: number;
}

export type ImportPushMessage = {
  type: 'import.finished';
  id: string;
  batchId?: string;
  summary: ImportSummary;
  files: Array<{ importId: string; fileName: string; status: ImportStatus; rowsImported?: number; rowsRejected?: number; reason?: string }>;
};

type NotifyDeps = {
  imports: ImportRecords;
  objects: ObjectStore;
  mailer: Mailer;
  push: PushChannel;
  rendezvous: ConnectionRendezvous;
  config: ImportConfig;
};

/**
 * "Notify user", once per execution (one message for a whole batch): by email, by push to a connected
 * browser, or not at all for `direct` (the browser polls). Returns the summary the state machine uses to
 * end as failed when any file failed.
 */
export async function notifyImportOutcome(deps: NotifyDeps, input: { executionArn: string; job: ImportJob }): Promise<ImportSummary> {
  const records = await recordsOf(deps.imports, input.job);
  const summary = summarize(records);
  const id = input.job.batchId ?? input.job.importIds[0] ?? '';
  if (input.job.delivery === 'email') {
    await deps.mailer.send(await outcomeMail(deps, input.job, records, summary));
  } else if (input.job.delivery === 'push') {
    const connectionId = await deps.rendezvous.connectionOf(importPushKey(id));
    if (connectionId) {
      const message: ImportPushMessage = {
        type: 'import.finished',
        id,
        ...(input.job.batchId ? { batchId: input.job.batchId } : {}),
        summary,
        files: records.slice(0, 1000).map((record) => ({
          importId: record.importId,
          fileName: record.fileName,
          status: record.status,
          ...(record.rowsImported !== undefined ? { rowsImported: record.rowsImported } : {}),
          ...(record.rowsRejected !== undefined ? { rowsRejected: record.rowsRejected } : {}),
          ...(record.reason ? { reason: record.reason } : {}),
        })),
      };
      // A gone browser is not a failure: the status stays available by polling.
      await deps.push.post(connectionId, message);
    }
  }
  return summary;
}

/** What a Catch puts at `$.failure`. */
export interface ImportFailure {
  Error: string;
  Cause?: string;
}

/**
 * The failure handler. For one file of the Map (`importId`): FAILED, audited, admins alerted; the user
 * hears with everyone else in "Notify user". For the whole execution (`job`): every file not yet ended is
 * FAILED, audited, and the user is told too.
 */
export async function handleImportFailure(
  deps: NotifyDeps & { audit: AuditLog; clock: Clock },
  input: { executionArn: string; failure: ImportFailure; importId?: string; job?: ImportJob },
): Promise<void> {
  const ids = input.importId ? [input.importId] : (input.job?.importIds ?? []);
  const reason = plainImportFailure(input.failure);
  const detail = failureDetail(input.failure);
  const at = deps.clock.now();
  const failed = (
    await mapLimit(ids, 16, async (importId) => {
      const record = await deps.imports.get(importId);
      if (!record || isFinal(record)) return undefined;
      const updated = await deps.imports.update(
        importId,
        { status: 'FAILED', reason, executionArn: input.executionArn, finishedAt: at.toISOString() },
        at,
      );
      await deps.audit.record(importAuditEntry(updated, 'FAILED', at, { executionArn: input.executionArn, error: detail }));
      return updated;
    })
  ).filter((record): record is ImportRecord => record !== undefined);

  const results = await Promise.allSettled([
    failed.length > 0
      ? deps.mailer.send({
          to: deps.config.adminEmail,
          subject: `Ferry import failed: ${input.failure.Error}`,
          text: [
            `${failed.length === 1 ? 'An import' : `${failed.length} imports`} failed.`,
            '',
            `Execution: ${input.executionArn}`,
            `Error: ${input.failure.Error}`,
            `Cause: ${input.failure.Cause ?? '(none)'}`,
            '',
            ...failed
              .slice(0, 50)
              .map((record) => `- ${record.importId}: ${record.fileName} (${record.owner.username}, ${record.owner.userId})`),
            ...(failed.length > 50 ? [`… and ${failed.length - 50} more`] : []),
          ].join('\n'),
        })
      : Promise.resolve(),
    input.job ? notifyImportOutcome(deps, { executionArn: input.executionArn, job: input.job }) : Promise.resolve(),
  ]);
  const rejected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** What the user is told: plain words, never a stack trace. */
export function plainImportFailure(failure: ImportFailure): string {
  const name = failure.Error;
  if (name === 'ScanFailed')
    return 'The virus scanner could not check the file, so nothing from it was imported. The Ferry team has been told.';
  if (name === 'States.Timeout' || name === 'States.HeartbeatTimeout') return 'The import took too long and was stopped.';
  if (name === 'Transient' || name.startsWith('Lambda.') || name === 'States.TaskFailed') {
    return 'A service the import depends on (such as the virus scanner) was unavailable, so nothing unchecked was imported. Please try again later.';
  }
  return 'The import could not be completed because of an unexpected error. The Ferry team has been told.';
}

function failureDetail(failure: ImportFailure): string {
  let message = failure.Cause;
  try {
    const parsed: unknown = failure.Cause ? JSON.parse(failure.Cause) : undefined;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { errorMessage?: unknown }).errorMessage === 'string') {
      message = (parsed as { errorMessage: string }).errorMessage;
    }
  } catch {
    // Not JSON: the cause is plain text already.
  }
  return (message ? `${failure.Error}: ${message}` : failure.Error).slice(0, 1000);
}

async function recordsOf(imports: ImportRecords, job: ImportJob): Promise<ImportRecord[]> {
  if (job.batchId) return imports.listBatch(job.batchId);
  return (await mapLimit(job.importIds, 16, (id) => imports.get(id))).filter((record): record is ImportRecord => record !== undefined);
}

function summarize(records: ImportRecord[]): ImportSummary {
  const count = (status: ImportStatus) => records.filter((record) => record.status === status).length;
  return {
    files: records.length,
    succeeded: count('SUCCEEDED'),
    quarantined: count('QUARANTINED'),
    rejected: count('REJECTED'),
    // Anything not ended by now did not make it.
    failed: records.filter((record) => record.status === 'FAILED' || !isFinal(record)).length,
    rowsImported: records.reduce((sum, record) => sum + (record.rowsImported ?? 0), 0),
    rowsRejected: records.reduce((sum, record) => sum + (record.rowsRejected ?? 0), 0),
  };
}

const MAIL_LINK_SECONDS = 7 * 24 * 3600;

async function outcomeMail(deps: Pick<NotifyDeps, 'objects' | 'config'>, job: ImportJob, records: ImportRecord[], summary: ImportSummary) {
  const lines = await mapLimit(records.slice(0, 100), 8, async (record) => {
    const url = await presignErrorReport(deps, record, MAIL_LINK_SECONDS);
    const rows = record.rowsImported !== undefined ? `, ${record.rowsImported} rows imported, ${record.rowsRejected ?? 0} rejected` : '';
    return [
      `- ${record.fileName}: ${record.status}${rows}`,
      ...(record.reason ? [`  ${record.reason}`] : []),
      ...(url ? [`  Rejected rows and why: ${url}`] : []),
    ].join('\n');
  });
  const what = summary.files === 1 ? 'Your import' : `Your batch of ${summary.files} files`;
  const ok = summary.succeeded === summary.files;
  return {
    to: job.requestedBy.email,
    subject: ok ? `${what} is done (${summary.rowsImported.toLocaleString('en-US')} rows imported)` : `${what} finished with problems`,
    text: [
      `Hello ${job.requestedBy.username},`,
      '',
      `${what}, requested ${new Date(job.requestedAt).toUTCString()}, has finished: ${summary.succeeded} imported, ${summary.rejected} rejected, ${summary.quarantined} quarantined, ${summary.failed} failed.`,
      '',
      ...lines,
      ...(records.length > 100 ? [`… and ${records.length - 100} more; see Ferry for all of them.`] : []),
      '',
      `Ferry: ${deps.config.appUrl}`,
    ].join('\n'),
  };
}
