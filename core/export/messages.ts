import type { PushFailedMessage, PushReadyMessage, SearchCriteria } from '../contract';
import type { ExecutionDescription, MailMessage } from '../ports';
import { causeMessage, isOutOfMemory, isTimeout, isUnavailable, type WorkflowFailure } from '../workflow-failure';
import type { ExportJob, ExportReport } from './job';
import type { ExportRecord, JobPerson } from './records';

/** Every mail and push text of the export, in one place. */

/** The search in words, for mails and lists: `posts matching "river", tagged travel, by u1, from 2024-01-01 to 2024-02-01`. */
export function searchInWords(criteria: SearchCriteria): string {
  const parts = ['posts'];
  if (criteria.q) parts.push(`matching "${criteria.q}"`);
  if (criteria.tags && criteria.tags.length > 0) parts.push(`tagged ${criteria.tags.join(', ')}`);
  if (criteria.userId) parts.push(`by ${criteria.userId}`);
  if (criteria.from && criteria.to) parts.push(`from ${criteria.from} to ${criteria.to}`);
  else if (criteria.from) parts.push(`from ${criteria.from}`);
  else if (criteria.to) parts.push(`up to ${criteria.to}`);
  return parts.length === 1 ? 'all posts' : parts.join(' ');
}

/** The export's page in the web app, which fetches a fresh link whenever it is opened. */
export const exportPageUrl = (appUrl: string, exportId: string): string => `${appUrl.replace(/\/+$/, '')}/#/exports/${encodeURIComponent(exportId)}`;

/** A date in words, in UTC and saying so: "Tuesday, 4 June 2024 at 12:00 UTC". */
export function utcDateInWords(iso: string): string {
  const date = new Date(iso);
  const day = date.toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  const time = date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'UTC' });
  return `${day} at ${time} UTC`;
}

/** File sizes as people read them: 512 bytes, 4.2 KB, 13.1 MB. */
export function sizeInWords(bytes: number): string {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** "Email link to user": what was exported, rows and size, the link, until when, and the export's page for a fresh one. */
export function readyMail(job: ExportJob, report: ExportReport, url: string, appUrl: string): MailMessage {
  const { requestedBy } = job;
  const expires = utcDateInWords(report.expiresAt);
  const rows = rowsInWords(report.rowCount);
  const size = sizeInWords(report.bytes);
  const what = searchInWords(job.searchCriteria);
  const page = exportPageUrl(appUrl, job.exportId);
  return {
    to: requestedBy.email,
    subject: `Your Ferry export is ready (${rows})`,
    text: [
      `Hello ${requestedBy.username},`,
      '',
      `Your export of ${what} is ready: ${rows}, ${size}. Download the CSV file here:`,
      '',
      url,
      '',
      `The link works until ${expires}; after that the file is deleted.`,
      `If the link has stopped working before then, open the export in Ferry for a fresh one: ${page}`,
      '',
      'Ferry',
    ].join('\n'),
    html: [
      `<p>Hello ${escapeHtml(requestedBy.username)},</p>`,
      `<p>Your export of ${escapeHtml(what)} is ready: ${escapeHtml(rows)}, ${escapeHtml(size)}.</p>`,
      `<p><a href="${escapeHtml(url)}">Download the CSV file</a></p>`,
      `<p>The link works until ${escapeHtml(expires)}; after that the file is deleted.`,
      ` If the link has stopped working before then, <a href="${escapeHtml(page)}">open the export in Ferry</a> for a fresh one.</p>`,
    ].join('\n'),
  };
}

/** To someone an export was just shared with: whose, what, and its page in the app. */
export function sharedMail(record: ExportRecord, to: JobPerson, page: string): MailMessage {
  const what = searchInWords(record.searchCriteria);
  const ready = record.rowCount !== undefined ? ` (${rowsInWords(record.rowCount)})` : '';
  return {
    to: to.email,
    subject: `${record.owner.username} shared a Ferry export with you`,
    text: [
      `Hello ${to.username},`,
      '',
      `${record.owner.username} shared their export of ${what}${ready} with you.`,
      `Open it in Ferry to see its status and download it: ${page}`,
      '',
      'Ferry',
    ].join('\n'),
    html: [
      `<p>Hello ${escapeHtml(to.username)},</p>`,
      `<p>${escapeHtml(record.owner.username)} shared their export of ${escapeHtml(what)}${escapeHtml(ready)} with you.</p>`,
      `<p><a href="${escapeHtml(page)}">Open it in Ferry</a> to see its status and download it.</p>`,
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
  if (isOutOfMemory(name)) return 'The export needed more memory than Ferry gives one export. Please narrow the search and try again.';
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
