import type { ObjectStore } from '../ports';
import type { ImportConfig } from './config';
import type { ImportRecord } from './records';

/**
 * The link to an import's error report. Apart from the report's writer (./error-report.ts), so the API handlers that
 * hand out links do not bundle the text encodings the writer needs.
 */

/** Links to an error report live a day; the status endpoint hands out a fresh one on every read. */
export const ERROR_REPORT_LINK_SECONDS = 24 * 3600;

export async function presignErrorReport(
  deps: { objects: ObjectStore; config: Pick<ImportConfig, 'permanentBucket'> },
  record: ImportRecord,
  seconds = ERROR_REPORT_LINK_SECONDS,
) {
  if (!record.errorReportKey || !record.rowsRejected) return undefined;
  const base =
    record.fileName
      .replace(/\.[^.]*$/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .slice(0, 80) || 'import';
  return deps.objects.presignGet(deps.config.permanentBucket, record.errorReportKey, seconds, `${base}-rejected-rows.csv`);
}
