/** Shapes of the HTTP contract (issue 2 "HTTP and WebSocket contract", issue 3 "Upload", "Status and admin"). */
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

export interface SearchResult {
  total: number;
  page: number;
  pageSize: number;
  hits: Post[];
}

export type DeliveryType = 'direct' | 'email' | 'push';
export type ExportState = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface ExportStatus {
  executionArn: string;
  status: ExportState;
  rowCount?: number;
  url?: string;
  expiresAt?: string;
  error?: string;
  /** While RUNNING, once the export has recorded some; `totalRows` may be approximate or absent. */
  progress?: ExportProgress;
}

export interface ExportProgress {
  rowsWritten: number;
  totalRows?: number;
}

export type PushMessage =
  | { type: 'export.ready'; executionArn: string; url: string; expiresAt: string; rowCount: number }
  | { type: 'export.failed'; executionArn: string; error: string };

export type ImportState = 'AWAITING_UPLOAD' | 'RUNNING' | 'SUCCEEDED' | 'QUARANTINED' | 'REJECTED' | 'FAILED';

export interface ImportStatus {
  importId: string;
  status: ImportState;
  checks?: { antivirus?: unknown; checksum?: unknown; format?: unknown };
  rowsImported?: number;
  rowsRejected?: number;
  errorReportUrl?: string;
  /** Why it was rejected, quarantined or failed, when the server says. */
  reason?: string;
  error?: string;
}

/** A presigned POST: send `fields` then the file as multipart/form-data to `url`. */
export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

/** A multipart upload: PUT each part to its URL, then complete with the ETags. */
export interface MultipartUpload {
  uploadId?: string;
  partSize: number;
  parts: { partNumber: number; url: string }[];
}

export interface CreatedImport {
  importId: string;
  upload: PresignedPost | MultipartUpload;
}

export const isMultipart = (upload: CreatedImport['upload']): upload is MultipartUpload =>
  Array.isArray((upload as MultipartUpload).parts);

export interface QuarantinedFile {
  importId?: string;
  fileName?: string;
  username?: string;
  userId?: string;
  signature?: string;
  quarantinedAt?: string;
}

export interface AuditEntry {
  id: string;
  kind: 'export' | 'import';
  executionArn?: string;
  userId: string;
  username: string;
  delivery: DeliveryType;
  searchCriteria?: SearchCriteria;
  rowCount?: number;
  outcome: string;
  error?: string;
  requestedAt: string;
  recordedAt: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  nextCursor?: string;
}

export interface FailedExecution {
  executionArn: string;
  workflow?: string;
  status?: string;
  startDate?: string;
  stopDate?: string;
  error?: string;
  cause?: string;
}
