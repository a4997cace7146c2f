import type { DeliveryType, ExportJobStatus, SearchCriteria } from '../contract';
import type { PostColumn } from '../model';

/**
 * What Ferry keeps about each export: the job record. It, not the execution, is the export's public
 * status (DescribeExecution is throttled per account and forgets after 90 days); the workflow's tasks
 * write it as they go. Imports have their own records (core/import/records.ts), which the import job
 * views read directly: one record per job, never two copies that could disagree.
 */

export const EXPORT_JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED'] as const satisfies readonly ExportJobStatus[];

/** Statuses an export never leaves (EXPIRED is derived when read, from expiresAt). */
export const FINAL_EXPORT_STATUSES: ReadonlySet<ExportJobStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED']);

/** Someone an export belongs to or is shared with. */
export interface JobPerson {
  userId: string;
  username: string;
  email: string;
}

export interface ExportRecord {
  exportId: string;
  owner: JobPerson;
  delivery: DeliveryType;
  searchCriteria: SearchCriteria;
  columns?: PostColumn[];
  status: ExportJobStatus;
  createdAt: string;
  updatedAt: string;
  executionArn?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Where the file is, once written. */
  bucket?: string;
  key?: string;
  fileName?: string;
  rowCount?: number;
  bytes?: number;
  expiresAt?: string;
  /** Why it failed, in plain words. */
  error?: string;
  /** The failed execution this export retries. */
  retryOf?: string;
  /** Who it is shared with, in the order they were granted. */
  sharedWith: JobPerson[];
}

/** The fields that change after creation (sharing has calls of its own). */
export type ExportChange = Partial<
  Pick<
    ExportRecord,
    'status' | 'executionArn' | 'startedAt' | 'finishedAt' | 'bucket' | 'key' | 'fileName' | 'rowCount' | 'bytes' | 'expiresAt' | 'error'
  >
>;

/** Applies a change the way every ExportRecords adapter must (undefined fields leave the record alone). */
export function applyExportChange(record: ExportRecord, change: ExportChange, at: Date): ExportRecord {
  const defined = Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined)) as Partial<ExportRecord>;
  return { ...record, ...defined, updatedAt: at.toISOString() };
}

/** A page of records newest first; `sharedWithViewer` marks those someone else shared with the reader. */
export interface ExportRecordPage {
  records: Array<{ record: ExportRecord; sharedWithViewer: boolean }>;
  nextCursor?: string;
}
