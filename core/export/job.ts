import type { DeliveryType, ExportFormat, SearchCriteria } from '../contract';
import { isRecord } from '../guards';
import type { PostColumn, User } from '../model';
import type { Clock, ObjectStore } from '../ports';
import { fileExtensionOf, fileOptionsOf } from './file-format';

/** The input every export execution starts with. */
export interface ExportJob {
  exportId: string;
  requestedBy: User;
  delivery: DeliveryType;
  searchCriteria: SearchCriteria;
  columns?: PostColumn[];
  /** The file's options, each left out when it is the default (CSV, no byte order mark, not compressed). */
  format?: ExportFormat;
  excel?: boolean;
  gzip?: boolean;
  requestedAt: string;
  /** Set on a retry (POST /api/admin/executions/{arn}/retry): the failed execution it runs again. */
  retryOf?: string;
}

/** What "Generate CSV report" produces; the execution's output carries it. */
export interface ExportReport {
  bucket: string;
  key: string;
  rowCount: number;
  bytes: number;
  expiresAt: string;
}

/** The job an execution started with, when its input is one. */
export function asExportJob(input: unknown): ExportJob | undefined {
  if (!isRecord(input) || typeof input.exportId !== 'string' || !isRecord(input.requestedBy)) return undefined;
  if (typeof input.requestedBy.userId !== 'string') return undefined;
  return input as unknown as ExportJob;
}

/** Where a report lives: built only from ids we issued, never from text the user typed. */
export const reportKey = (job: Pick<ExportJob, 'exportId' | 'requestedBy' | 'format' | 'gzip'>): string =>
  `exports/${encodeURIComponent(job.requestedBy.userId)}/${job.exportId}${fileExtensionOf(fileOptionsOf(job))}`;

/** The file name the browser saves, e.g. `ferry-export-2024-05-01-101112.csv` (or `.ndjson`, `.csv.gz`…). */
export function downloadNameOf(job: Pick<ExportJob, 'exportId' | 'requestedAt' | 'format' | 'gzip'>): string {
  const extension = fileExtensionOf(fileOptionsOf(job));
  const at = job.requestedAt.match(/^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})/);
  return at ? `ferry-export-${at[1]}-${at[2]}${at[3]}${at[4]}${extension}` : `ferry-export-${job.exportId}${extension}`;
}

/** SigV4 presigned URLs live at most seven days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60;

/** A link valid until the report expires; none once it has. */
export async function presignReport(
  deps: { objects: ObjectStore; clock: Clock },
  report: ExportReport,
  downloadName?: string,
): Promise<string | undefined> {
  const seconds = Math.floor((Date.parse(report.expiresAt) - deps.clock.now().getTime()) / 1000);
  if (!(seconds > 0)) return undefined;
  return deps.objects.presignGet(report.bucket, report.key, Math.min(seconds, MAX_PRESIGN_SECONDS), downloadName);
}
