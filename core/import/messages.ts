import type { ImportPushMessage, ImportSummary } from '../contract';
import type { MailMessage, ObjectLocation } from '../ports';
import { isOutOfMemory, isTimeout, isUnavailable, type WorkflowFailure } from '../workflow-failure';
import type { ImportJob } from './job';
import { publicStatusOf, type ImportRecord } from './records';
import type { CheckResults } from './tasks';
import { resourceRejectionReason } from '../resource/messages';

/** Every mail, push and reason text of the import, in one place. */

export const quarantineReason = (signature: string): string =>
  `The file contains malware (${signature}). It was quarantined and nothing from it was imported.`;

/** The admins' alert for an infected upload. */
export const quarantineMail = (
  config: { adminEmail: string; appUrl: string },
  record: ImportRecord,
  input: { executionArn: string; signature: string },
  target: ObjectLocation,
): MailMessage => ({
  to: config.adminEmail,
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
    `Review it in Ferry's admin page: ${config.appUrl}`,
  ].join('\n'),
});

export function rejectionReason(checks: CheckResults): string {
  if (checks.format.format === 'unknown') {
    return 'kind' in checks.format
      ? resourceRejectionReason(checks.format.reason)
      : `The file is not CSV or NDJSON: ${checks.format.reason}.`;
  }
  const { checksum: sum } = checks;
  if (sum.bytes !== sum.expectedBytes) {
    return `The file that arrived is ${sum.bytes} bytes, not the ${sum.expectedBytes} bytes announced; it may have been cut short or changed. Please upload it again.`;
  }
  return `The file's SHA-256 (${sum.sha256}) is not the one your browser computed (${sum.expectedSha256 ?? 'none'}); it changed on the way. Please upload it again.`;
}

export const expiredReason = (timeoutSeconds: number): string =>
  `No column mapping arrived within ${formatDuration(timeoutSeconds)} of the preview, so nothing from the file was imported. Please upload it again.`;

const formatDuration = (seconds: number): string =>
  seconds % 3600 === 0 ? `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}` : `${Math.round(seconds / 60)} minutes`;

/** "Reject changed file": the upload's bytes were replaced after they arrived (core/errors.ts UploadChanged). */
export const UPLOAD_CHANGED_REASON =
  'The file changed after it was uploaded, so nothing from the new bytes was imported. Please start a new import to upload it again.';

export const unreadableReason = (problem: string): string =>
  `The file stopped being readable part-way (${problem}); nothing was imported. Fix the file and upload it again.`;

/** "Notify user" by push: the summary and (up to 1,000) files. */
export const finishedPush = (id: string, job: ImportJob, summary: ImportSummary, records: ImportRecord[]): ImportPushMessage => ({
  type: 'import.finished',
  id,
  ...(job.batchId ? { batchId: job.batchId } : {}),
  summary,
  files: records.slice(0, 1000).map((record) => ({
    importId: record.importId,
    fileName: record.fileName,
    status: publicStatusOf(record.status),
    ...(record.rowsImported !== undefined ? { rowsImported: record.rowsImported } : {}),
    ...(record.rowsRejected !== undefined ? { rowsRejected: record.rowsRejected } : {}),
    ...(record.reason ? { reason: record.reason } : {}),
  })),
});

/** "Notify user" by email: one line per file (up to 100), with its error report's link when it has one. */
export function outcomeMail(
  job: ImportJob,
  records: ImportRecord[],
  errorReportLinks: ReadonlyArray<string | undefined>,
  summary: ImportSummary,
  appUrl: string,
): MailMessage {
  const lines = records.slice(0, 100).map((record, i) => {
    const url = errorReportLinks[i];
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
      `Ferry: ${appUrl}`,
    ].join('\n'),
  };
}

/** The admins' alert when imports failed: the error and (up to 50 of) the files. */
export const importFailureMail = (
  adminEmail: string,
  executionArn: string,
  failure: WorkflowFailure,
  failed: ImportRecord[],
): MailMessage => ({
  to: adminEmail,
  subject: `Ferry import failed: ${failure.Error}`,
  text: [
    `${failed.length === 1 ? 'An import' : `${failed.length} imports`} failed.`,
    '',
    `Execution: ${executionArn}`,
    `Error: ${failure.Error}`,
    `Cause: ${failure.Cause ?? '(none)'}`,
    '',
    ...failed.slice(0, 50).map((record) => `- ${record.importId}: ${record.fileName} (${record.owner.username}, ${record.owner.userId})`),
    ...(failed.length > 50 ? [`… and ${failed.length - 50} more`] : []),
  ].join('\n'),
});

/** What the user is told: plain words, never a stack trace. */
export function plainImportFailure(failure: WorkflowFailure): string {
  const name = failure.Error;
  if (name === 'ScanTimedOut')
    return 'The virus scanner did not answer within the time allowed, so nothing from the file was imported. The Ferry team has been told.';
  if (name === 'ScanFailed')
    return 'The virus scanner could not check the file, so nothing from it was imported. The Ferry team has been told.';
  if (isTimeout(name)) return 'The import took too long and was stopped.';
  if (isOutOfMemory(name)) return 'The import needed more memory than Ferry gives one file, so nothing from the file was imported. The Ferry team has been told.';
  if (isUnavailable(name)) {
    return 'A service the import depends on (such as the virus scanner) was unavailable, so nothing unchecked was imported. Please try again later.';
  }
  return 'The import could not be completed because of an unexpected error. The Ferry team has been told.';
}

/** Authorship: why a member's row is rejected (admins may import on behalf of others). */
export const foreignUserIdReason = (userId: string, uploader: string): string =>
  `userId is ${userId}, not yours (${uploader}): you can import only your own posts`;
/** An id the file holds twice: the first row with it is imported, each later one rejected with this. */
export const repeatedIdReason = (id: string, firstLine?: number): string =>
  firstLine === undefined ? `id ${id} is repeated: an earlier line of this file has the same id` : `id ${id} is repeated; first seen on line ${firstLine}`;
export const foreignPostReason = (id: string): string => `id ${id} belongs to another user's post: you can update only your own posts`;
