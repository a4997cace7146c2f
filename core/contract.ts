/**
 * The HTTP and WebSocket contract's shapes, written once: the use-cases return them and the web app
 * (frontend/src/api/) reads them. Types only (the web app's bundle takes nothing from here at run time).
 */

export type DeliveryType = 'direct' | 'email' | 'push';

/** A post as search answers it and CSV files carry it. */
export interface Post {
  id: string;
  userId: string;
  dateCreated: string;
  content: string;
  tags: string[];
}

export interface SearchCriteria {
  q?: string;
  tags?: string[];
  userId?: string;
  from?: string;
  to?: string;
}

/** `GET /api/search`. */
export interface SearchResult {
  total: number;
  page: number;
  pageSize: number;
  hits: Post[];
}

// ---------------------------------------------------------------------------------------------
// Exports

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** An export file's format: CSV (the default) or NDJSON (one JSON object per line). */
export type ExportFormat = 'csv' | 'ndjson';

/** `POST /api/download-request`'s body (`type` is accepted for `delivery`). */
export interface DownloadRequestBody {
  delivery: DeliveryType;
  searchCriteria?: SearchCriteria;
  columns?: Array<keyof Post>;
  format?: ExportFormat;
  /** CSV only: a UTF-8 byte order mark, so Excel on Windows opens accents correctly. */
  excel?: boolean;
  /** Compressed with gzip (`.csv.gz`, `.ndjson.gz`). */
  gzip?: boolean;
}

/** `POST /api/download-request`'s 202: the execution, and how many rows the search matched when it started. */
export interface DownloadRequestAccepted {
  executionArn: string;
  /** The export's job id (`GET /api/exports/{exportId}`). */
  exportId: string;
  estimatedRows: number;
}

/** How far a running export has got; `totalRows` may be approximate (OpenSearch) or absent. */
export interface ExportStatusProgress {
  rowsWritten: number;
  totalRows?: number;
}

/** `GET /api/download-request/{executionArn}`. */
export interface ExportStatus {
  executionArn: string;
  status: ExecutionStatus;
  delivery?: DeliveryType;
  requestedAt?: string;
  rowCount?: number;
  url?: string;
  expiresAt?: string;
  error?: string;
  /** While RUNNING, once "Generate CSV report" has recorded some. */
  progress?: ExportStatusProgress;
}

/** `POST /api/download-request` answers 202 with these: the executionArn (the old routes) and the job id (the new ones). */
/** The 202 of `POST /api/download-request`. */
export type ExportRequested = DownloadRequestAccepted;

// ---------------------------------------------------------------------------------------------
// Jobs: every export and import is a record owned by its user (`GET /api/exports`, `GET /api/imports`)

export type JobKind = 'export' | 'import';
/** An export job's status; `EXPIRED` once its file is gone (the bucket lifecycle deletes it). */
export type ExportJobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';

/** One export as its owner, and those it is shared with, see it. */
export interface ExportJobView {
  kind: 'export';
  exportId: string;
  executionArn?: string;
  delivery: DeliveryType;
  searchCriteria: SearchCriteria;
  /** The search in words, e.g. `posts matching "river" tagged travel, from 2024-01-01`. */
  searchSummary: string;
  columns?: string[];
  status: ExportJobStatus;
  /** While RUNNING, once "Generate CSV report" has recorded some. */
  progress?: ExportStatusProgress;
  rowCount?: number;
  /** Size of the file in bytes. */
  bytes?: number;
  fileName?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** When the file is deleted (ISO 8601, UTC). */
  expiresAt?: string;
  /** Why it failed, in plain words. */
  error?: string;
  /** Usernames it is shared with (only its owner sees them). */
  sharedWith?: string[];
  /** The owner's username. */
  owner: string;
  /** Set on an export someone else shared with the caller. */
  shared?: true;
  /** `GET /api/exports/{exportId}` only: a freshly signed download link while the file exists. */
  url?: string;
}

/** One import as a job: its status view plus the job fields. */
export interface ImportJobView extends ImportStatusView {
  kind: 'import';
  owner: string;
  size: number;
  shared?: true;
}

export interface JobPage<T> {
  items: T[];
  cursor?: string;
}

/** `POST /api/exports/{exportId}/shares` body. */
export interface ShareRequest {
  usernames: string[];
}

/** `GET /api/admin/jobs` items: either kind, with the owner. */
export type AdminJobView = ExportJobView | ImportJobView;

/** The one WebSocket message of an export pushed to the browser. */
export type PushReadyMessage = { type: 'export.ready'; executionArn: string; url: string; expiresAt: string; rowCount: number };
export type PushFailedMessage = { type: 'export.failed'; executionArn: string; error: string };
export type PushMessage = PushReadyMessage | PushFailedMessage;

// ---------------------------------------------------------------------------------------------
// Imports

/**
 * NEEDS_MAPPING: waiting for `POST /api/imports/{importId}/mapping`; EXPIRED: it never came, nothing was imported;
 * CANCELLED: its owner cancelled it (`DELETE /api/imports/{importId}`) before it ended, nothing was imported.
 */
export type ImportState =
  | 'AWAITING_UPLOAD'
  | 'RUNNING'
  | 'NEEDS_MAPPING'
  | 'SUCCEEDED'
  | 'QUARANTINED'
  | 'REJECTED'
  | 'FAILED'
  | 'CANCELLED'
  | 'EXPIRED';

/** The post field a column of an import file fills. */
export type ImportField = 'id' | 'userId' | 'dateCreated' | 'content' | 'tags';
/** Column name → the field it fills, or null to leave it out. */
export type ImportMapping = Record<string, ImportField | null>;

/** NEEDS_MAPPING: what the file holds, as detected, and the mapping its header names suggest. */
export interface ImportPreview {
  columns: string[];
  /** The first 20 data rows, long cells cut short. */
  rows: string[][];
  delimiter: ImportDelimiter;
  encoding: ImportEncoding;
  suggestedMapping: ImportMapping;
}

export type AntivirusCheck = 'pending' | 'clean' | 'infected';
/** `unverified`: the browser sent no hash, so the file's own was computed but compared with nothing. */
export type ChecksumCheck = 'pending' | 'verified' | 'mismatch' | 'unverified';
/** `resource`: a resource of an allowed type (core/resource/), kept rather than imported. */
export type FormatCheck = 'pending' | 'csv' | 'ndjson' | 'resource' | 'unknown';

export type ImportEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'windows-1252';
export type ImportDelimiter = ',' | ';' | '\t' | '|';

/** Each check's answer so far; the antivirus check says only clean or infected (the signature is in `signature`). */
export interface ImportChecks {
  antivirus: AntivirusCheck;
  checksum: ChecksumCheck;
  format: FormatCheck;
}

/** `GET /api/imports/{importId}`. */
export interface ImportStatusView {
  importId: string;
  fileName: string;
  status: ImportState;
  checks: ImportChecks;
  /** The text encoding the format check detected. */
  encoding?: ImportEncoding;
  /** CSV: the field delimiter the format check detected. */
  delimiter?: ImportDelimiter;
  /** Rows stored: created + updated + unchanged (kept for clients written before those three). 0 for a file that failed. */
  rowsImported?: number;
  /** Rows whose id was new: posts added. */
  rowsCreated?: number;
  /** Rows whose id was stored with other content, tags, date or author: posts replaced. */
  rowsUpdated?: number;
  /** Rows identical to the post stored under their id: nothing written. */
  rowsUnchanged?: number;
  rowsRejected?: number;
  errorReportUrl?: string;
  /** NEEDS_MAPPING: the preview to map the columns from. */
  preview?: ImportPreview;
  /** The column mapping used (given up front or after NEEDS_MAPPING). */
  mapping?: ImportMapping;
  /** A dry run: every check and validation ran, the counts and error report are real, nothing was written to the index. */
  dryRun?: boolean;
  /** Why it was rejected, quarantined or failed, in words for the user. */
  reason?: string;
  /** QUARANTINED: the virus signature the scanner named. */
  signature?: string;
  /**
   * RUNNING but not yet checked or processed: its turn for the import engine's fair share has not come
   * (IMPORT_SLOTS, IMPORT_SLOTS_PER_USER). `filesAhead` files go first; `since` is when it began to wait.
   */
  waiting?: { filesAhead: number; since: string };
  batchId?: string;
  executionArn?: string;
  createdAt: string;
  finishedAt?: string;
}

/** `GET /api/imports/{batchId}`. */
export interface BatchStatusView {
  batchId: string;
  /** AWAITING_UPLOAD until every file arrived, RUNNING while any is, COMPLETED once every file ended. */
  status: 'AWAITING_UPLOAD' | 'RUNNING' | 'COMPLETED';
  /** Every file's antivirus, checksum and format checks have an answer (or the file ended without them). */
  checksComplete: boolean;
  counts: Record<ImportState, number>;
  files: ImportStatusView[];
}

/** A presigned POST: send `fields` then the file as multipart/form-data to `url`. */
export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

export interface PartLink {
  partNumber: number;
  url: string;
  /** The byte range of the file this part carries, for Blob.slice(start, end). */
  start: number;
  end: number;
}

/** A multipart upload: PUT each part to its URL, then complete with the ETags. */
export interface MultipartUploadInstructions {
  method: 'multipart';
  uploadId: string;
  partSize: number;
  partCount: number;
  parts: PartLink[];
}

export type UploadInstructions = ({ method: 'POST' } & PresignedPost) | MultipartUploadInstructions;

/** `POST /api/imports`: one file, or a batch. */
export type CreatedImports =
  | { importId: string; upload: UploadInstructions }
  | { batchId: string; imports: Array<{ importId: string; fileName: string; upload: UploadInstructions }> };

// ---------------------------------------------------------------------------------------------
// Resources: files kept as they are (scanned, checksummed, identified), not imported

/** `GET /api/resources/{resourceId}` and each item of `GET /api/resources`. */
export interface ResourceView {
  resourceId: string;
  fileName: string;
  status: ImportState;
  size: number;
  /** The MIME type read from the bytes (absent until identified). */
  type?: string;
  /** The SHA-256 the checksum check computed (absent until computed). */
  sha256?: string;
  /** SUCCEEDED: a freshly signed download link. */
  url?: string;
  /** SUCCEEDED images: a freshly signed link to a small WebP thumbnail. */
  thumbnailUrl?: string;
  /** Why it was rejected, quarantined or failed, in words for the user. */
  reason?: string;
  batchId?: string;
  createdAt: string;
  /** When the upload arrived. */
  uploadedAt?: string;
  finishedAt?: string;
}

/** `POST /api/resources`: one file, or a batch. */
export type CreatedResources =
  | { resourceId: string; upload: UploadInstructions }
  | { batchId: string; resources: Array<{ resourceId: string; fileName: string; upload: UploadInstructions }> };

/** `GET /api/resources?cursor=`: the caller's resources, newest first. */
export interface ResourcePage {
  items: ResourceView[];
  nextCursor?: string;
}

/** `POST /api/imports/{importId}/parts`. */
export interface ImportParts {
  importId: string;
  uploadId: string;
  partSize: number;
  partCount: number;
  parts: PartLink[];
}

export interface ImportSummary {
  files: number;
  succeeded: number;
  quarantined: number;
  rejected: number;
  failed: number;
  rowsImported: number;
  rowsRejected: number;
}

/** The one WebSocket message of an import (or batch) pushed to the browser. */
export type ImportPushMessage = {
  type: 'import.finished';
  id: string;
  batchId?: string;
  summary: ImportSummary;
  files: Array<{ importId: string; fileName: string; status: ImportState; rowsImported?: number; rowsRejected?: number; reason?: string }>;
};

// ---------------------------------------------------------------------------------------------
// Admin

/** `GET /api/admin/quarantine`'s items. */
export interface QuarantinedFileView {
  importId: string;
  fileName: string;
  userId: string;
  username: string;
  email: string;
  size: number;
  signature: string;
  quarantinedAt: string;
  bucket: string;
  key: string;
}

export interface QuarantinePage {
  items: QuarantinedFileView[];
  nextCursor?: string;
}

export type AuditKind = 'export' | 'import';
export type AuditOutcome =
  | 'REQUESTED'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'QUARANTINED'
  | 'REJECTED'
  | 'RETRIED'
  | 'CANCELLED'
  | 'DELETED'
  | 'SHARED'
  | 'UNSHARED'
  | 'DOWNLOADED'
  | 'EXPIRED';

/** One entry of `GET /api/admin/audit`. */
export interface AuditEntry {
  id: string;
  kind: AuditKind;
  executionArn?: string;
  userId: string;
  username: string;
  delivery: DeliveryType;
  searchCriteria?: SearchCriteria;
  rowCount?: number;
  /** An admin's import: how many rows it wrote under other users' ids (on-behalf imports). */
  onBehalfRows?: number;
  outcome: AuditOutcome;
  error?: string;
  /** The failed execution this one retries (on the retry's entries). */
  retryOf?: string;
  /** The execution that retries this failed one (on the original's RETRIED entry). */
  retriedBy?: string;
  /** SHARED / UNSHARED: the username granted or revoked; DOWNLOADED: who downloaded it. */
  subject?: string;
  requestedAt: string;
  recordedAt: string;
}

/** `POST /api/admin/executions/{executionArn}/retry` answers 202 with the retry's ARN. */
export interface RetryResponse {
  executionArn: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  nextCursor?: string;
}

export type WorkflowName = 'export' | 'import';
export type ExecutionState = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

/** One item of `GET /api/admin/executions` as it travels (dates as ISO strings in JSON). */
export interface ExecutionSummaryView {
  executionArn: string;
  workflow: WorkflowName;
  name: string;
  status: ExecutionState;
  startDate: string;
  stopDate?: string;
}
