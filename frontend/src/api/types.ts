/**
 * Shapes of the HTTP contract, as the server writes them in core/contract.ts (type-only: nothing of the
 * back end reaches the bundle). The few names below are the web app's own words for them.
 */
import type {
  CreatedImports,
  DownloadRequestBody,
  ExecutionStatus,
  ExecutionSummaryView,
  ExportStatusProgress,
  ImportStatusView,
  MultipartUploadInstructions,
  QuarantinedFileView,
} from '../../../core/contract';
import type { CreatedResources } from '../../../core/contract';

export type {
  AuditEntry,
  AuditPage,
  DeliveryType,
  ExportFormat,
  ExportJobStatus,
  ExportJobView,
  ExportRequested,
  ExportStatus,
  ImportField,
  ImportJobView,
  ImportMapping,
  ImportPreview,
  JobPage,
  Post,
  PresignedPost,
  PushMessage,
  ResourcePage,
  ResourceView,
  RetryResponse,
  SearchCriteria,
  SearchResult,
} from '../../../core/contract';

export type ExportState = ExecutionStatus;
/** The file options of `POST /api/download-request`. */
export type ExportOptions = Pick<DownloadRequestBody, 'format' | 'excel' | 'gzip'>;
export type ExportProgress = ExportStatusProgress;
export type ImportState = ImportStatusView['status'];
export type ImportStatus = ImportStatusView;
export type MultipartUpload = MultipartUploadInstructions;
/** The answer to a one-file `POST /api/imports`. */
export type CreatedImport = Extract<CreatedImports, { importId: string }>;
export type QuarantinedFile = QuarantinedFileView;
/** The answer to a one-file `POST /api/resources`. */
export type CreatedResource = Extract<CreatedResources, { resourceId: string }>;

/**
 * A row of the admin page's failed executions. The server sends an ExecutionSummaryView; it does not
 * (yet) send `error` or `cause`, which the page would show when present.
 */
export type FailedExecution = ExecutionSummaryView & { error?: string; cause?: string };

export const isMultipart = (upload: CreatedImport['upload']): upload is MultipartUpload => Array.isArray((upload as MultipartUpload).parts);
