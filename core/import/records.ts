import { NotFound } from '../errors';
import type { AntivirusCheck, ChecksumCheck, DeliveryType, FormatCheck, ImportChecks, ImportState } from '../contract';
import type { User } from '../model';
import type { ImportRecords } from '../ports';
import type { UploadMethod } from './upload-policy';

/**
 * What Ferry keeps about each import: who uploaded what, where it is, how each check and the
 * processing ended. The record, not the execution, is the import's public status: an execution may
 * carry a whole batch, and an import exists before its upload (and so before any execution).
 */

export const IMPORT_STATUSES = [
  'AWAITING_UPLOAD',
  'RUNNING',
  'SUCCEEDED',
  'QUARANTINED',
  'REJECTED',
  'FAILED',
] as const satisfies readonly ImportState[];
export type ImportStatus = ImportState;
export type { AntivirusCheck, ChecksumCheck, FormatCheck, ImportChecks };

/** Statuses an import never leaves. */
export const FINAL_IMPORT_STATUSES: ReadonlySet<ImportStatus> = new Set(['SUCCEEDED', 'QUARANTINED', 'REJECTED', 'FAILED']);

export const PENDING_CHECKS: ImportChecks = { antivirus: 'pending', checksum: 'pending', format: 'pending' };

export interface ImportOwner {
  userId: string;
  username: string;
  email: string;
  /** An admin uploaded it: rows may name other authors (on-behalf imports). Members write only their own posts. */
  admin?: boolean;
}

/** How the rows of a file ended; `rowsImported` of the record is created + updated + unchanged. */
export interface ImportRowCounts {
  rowsCreated: number;
  rowsUpdated: number;
  rowsUnchanged: number;
  rowsRejected: number;
  /** Rows an admin wrote under another user's id. */
  onBehalfRows: number;
}

export interface ImportUpload {
  bucket: string;
  key: string;
  method: UploadMethod;
  /** Multipart uploads only. */
  uploadId?: string;
  partBytes?: number;
  partCount?: number;
}

export interface QuarantineInfo {
  bucket: string;
  key: string;
  signature: string;
  quarantinedAt: string;
}

export interface ImportRecord {
  importId: string;
  /** Set when the import is one file of a `{files:[…]}` request; the batch runs as one execution. */
  batchId?: string;
  owner: ImportOwner;
  /** As the user named it; shown back to them, never used in a key. */
  fileName: string;
  size: number;
  /** What the browser claimed; the format check does not trust it. */
  contentType: string;
  /** The browser-computed SHA-256, when it sent one. */
  sha256?: string;
  delivery: DeliveryType;
  status: ImportStatus;
  checks: ImportChecks;
  upload: ImportUpload;
  createdAt: string;
  updatedAt: string;
  uploadedAt?: string;
  executionArn?: string;
  /** The SHA-256 the checksum check computed. */
  computedSha256?: string;
  rowsImported?: number;
  rowsCreated?: number;
  rowsUpdated?: number;
  rowsUnchanged?: number;
  rowsRejected?: number;
  onBehalfRows?: number;
  /**
   * Set once every valid row is staged (and the error report written): the counts, so a retry after that
   * point only finishes the commit instead of counting rows it committed itself as unchanged.
   */
  staged?: ImportRowCounts;
  /** In the permanent bucket. */
  errorReportKey?: string;
  /** Where the original lives after a successful import (permanent bucket). */
  permanentKey?: string;
  quarantine?: QuarantineInfo;
  /** Why it was rejected or failed, in words for the user. */
  reason?: string;
  finishedAt?: string;
}

/** The fields that change after creation. */
export type ImportChange = Partial<
  Pick<
    ImportRecord,
    | 'status'
    | 'executionArn'
    | 'computedSha256'
    | 'rowsImported'
    | 'rowsCreated'
    | 'rowsUpdated'
    | 'rowsUnchanged'
    | 'rowsRejected'
    | 'onBehalfRows'
    | 'staged'
    | 'errorReportKey'
    | 'permanentKey'
    | 'quarantine'
    | 'reason'
    | 'finishedAt'
  >
> & { checks?: Partial<ImportChecks> };

/** The status of a record after a change, or the change's own. */
export function applyImportChange(record: ImportRecord, change: ImportChange, at: Date): ImportRecord {
  const { checks, ...rest } = change;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Partial<ImportRecord>;
  return { ...record, ...defined, checks: { ...record.checks, ...(checks ?? {}) }, updatedAt: at.toISOString() };
}

export const isFinal = (record: ImportRecord): boolean => FINAL_IMPORT_STATUSES.has(record.status);

/** The import, if it is the caller's; someone else's is indistinguishable from none. */
/** Ferry issues UUIDs; anything else (an over-long or odd id) is simply not found, never sent on as a key DynamoDB refuses. */
export const isIssuedId = (id: string): boolean => /^[A-Za-z0-9-]{1,64}$/.test(id);

export async function ownedImport(imports: ImportRecords, user: User, importId: string): Promise<ImportRecord> {
  if (!isIssuedId(importId)) throw new NotFound('No import with that id.');
  const record = await imports.get(importId);
  if (!record || record.owner.userId !== user.userId) throw new NotFound('No import with that id.');
  return record;
}

export async function mustGetImport(imports: ImportRecords, importId: string): Promise<ImportRecord> {
  const record = await imports.get(importId);
  if (!record) throw new NotFound(`No import ${importId}.`);
  return record;
}
