import type { PushFailedMessage, PushReadyMessage } from '../contract';
import type { ExecutionDescription, MailMessage } from '../ports';
import { causeMessage, isTimeout, isUnavailable, type WorkflowFailure } from '../workflow-failure';
import type { ExportJob, ExportReport } from './job';

/** Every mail and push text of the export, in one place. */

/** "Email link to user": the link, how long it works, and where to get a fresh one. */
export function readyMail(job: ExportJob, report: ExportReport, url: string, appUrl: string): MailMessage {
  const { requestedBy } = job;
  const expires = new Date(report.expiresAt).toUTCString();
  const rows = rowsInWords(report.rowCount);
  return {
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
      `If the link has stopped working before then, open Ferry (${appUrl}) for a fresh one.`,
      '',
      'Ferry',
    ].join('\n'),
    html: [
      `<p>Hello ${escapeHtml(requestedBy.username)},</p>`,
      `<p>Your export of ${escapeHtml(rows)} is ready.</p>`,
      `<p><a href="${escapeHtml(url)}">Download the CSV file</a></p>`,
      `<p>The link works until ${escapeHtml(expires)}; after that the file is deleted.`,
      ` If the link has stopped working before then, open <a href="${escapeHtml(appUrl)}">Ferry</a> for a fresh one.</p>`,
    ].join('\n'),
  };
}

export const readyPush = (executionArn: string, report: ExportReport, url: string): PushReadyMessage => ({
  type: 'export.ready',
  executionArn,
  url,
  expiresAt: report.expiresAt,
  rowCount: report.rowCount,
});

export const failedPush = (executionArn: string, error: string): PushFailedMessage => ({ type: 'export.failed', executionArn, error });

/** The user's mail when an email export failed, with the same plain words the status shows. */
export const userFailureMail = (job: ExportJob, error: string, appUrl: string): MailMessage => ({
  to: job.requestedBy.email,
  subject: 'Your Ferry export could not be completed',
  text: [
    `Hello ${job.requestedBy.username},`,
    '',
    `Your export requested at ${new Date(job.requestedAt).toUTCString()} could not be completed.`,
    error,
    '',
    `You can try again from Ferry: ${appUrl}`,
    '',
    'Ferry',
  ].join('\n'),
});

/** The admins' alert: everything needed to find the execution and the request again. */
export const adminFailureMail = (adminEmail: string, executionArn: string, job: ExportJob, failure: WorkflowFailure): MailMessage => ({
  to: adminEmail,
  subject: `Ferry export failed: ${failure.Error}`,
  text: [
    'An export failed.',
    '',
    `Execution: ${executionArn}`,
    `User: ${job.requestedBy.username} (${job.requestedBy.userId}, ${job.requestedBy.email})`,
    `Delivery: ${job.delivery}`,
    `Requested at: ${job.requestedAt}`,
    `Search criteria: ${JSON.stringify(job.searchCriteria)}`,
    `Error: ${failure.Error}`,
    `Cause: ${failure.Cause ?? '(none)'}`,
  ].join('\n'),
});

export const NOT_FOUND_MESSAGE = 'No export with that executionArn.';
export const NO_FILE_MESSAGE = 'The export finished without producing a file.';

/** What the user is told: plain words, never a stack trace or an internal name. */
export function plainFailure(failure: WorkflowFailure): string {
  const name = failure.Error;
  if (isTimeout(name)) return 'The export took too long and was stopped.';
  if (isUnavailable(name)) return 'A service the export depends on was unavailable. Please try again later.';
  if (name === 'InvalidInput') return `The export request was not valid: ${causeMessage(failure.Cause) ?? 'please check it'}.`;
  return 'The export could not be completed because of an unexpected error. The Ferry team has been told.';
}

/** The status route's words for an execution that ended without success. */
export function plainExecutionError(description: ExecutionDescription): string {
  if (description.status === 'TIMED_OUT') return 'The export took too long and was stopped.';
  if (description.status === 'ABORTED') return 'The export was cancelled.';
  if (description.error === 'ExportFailed' || !description.error) return 'The export could not be completed. The Ferry team has been told.';
  return plainFailure({ Error: description.error, ...(description.cause ? { Cause: description.cause } : {}) });
}

const rowsInWords = (count: number): string => `${count.toLocaleString('en-US')} ${count === 1 ? 'row' : 'rows'}`;

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
