import { NotFound } from '../errors';
import type { AntivirusCheck, ChecksumCheck, DeliveryType, FormatCheck, ImportChecks, ImportPreview, ImportState } from '../contract';
import type { User } from '../model';
import type { TextEncoding } from './encoding';
import type { Delimiter } from './format';
import type { ColumnMapping } from './mapping';
import type { ImportRecords, ObjectCondition } from '../ports';
import type { UploadMethod } from './upload-policy';

/**
 * What Ferry keeps about each import: who uploaded what, where it is, how each check and the
 * processing ended. The record, not the execution, is the import's public status: an execution may
 * carry a whole batch, and an import exists before its upload (and so before any execution).
 */

export const IMPORT_STATUSES = [
  'AWAITING_UPLOAD',
  'RUNNING',
  'NEEDS_MAPPING',
  'COMMITTING',
  'SUCCEEDED',
  'QUARANTINED',
  'REJECTED',
  'FAILED',
  'CANCELLED',
  'EXPIRED',
] as const;
/**
 * The record's status: the public ImportState, and COMMITTING, which the record alone knows (its rows are being
 * made searchable, so a cancel is refused); the status endpoint shows it as RUNNING (publicStatusOf).
 */
export type ImportStatus = ImportState | 'COMMITTING';
export const publicStatusOf = (status: ImportStatus): ImportState => (status === 'COMMITTING' ? 'RUNNING' : status);
export type { AntivirusCheck, ChecksumCheck, FormatCheck, ImportChecks };

/** Statuses an import never leaves. */
export const FINAL_IMPORT_STATUSES: ReadonlySet<ImportStatus> = new Set(['SUCCEEDED', 'QUARANTINED', 'REJECTED', 'FAILED', 'CANCELLED', 'EXPIRED']);

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
  /** `resource`: a file kept as it is (core/resource/), not imported; absent for imports. */
  kind?: 'resource';
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
  /** The ETag (no quotes) and size of the object that arrived: every check and processing read is pinned to it. */
  uploadedEtag?: string;
  uploadedBytes?: number;
  executionArn?: string;
  /** The SHA-256 the checksum check computed. */
  computedSha256?: string;
  /** What the format check detected: the text encoding, and for CSV the delimiter and the header's columns. */
  encoding?: TextEncoding;
  delimiter?: Delimiter;
  columns?: string[];
  /** NEEDS_MAPPING: what the user maps the columns from. */
  preview?: ImportPreview;
  /** The column mapping to import with (given up front, or after NEEDS_MAPPING). */
  mapping?: ColumnMapping;
  /** Check and validate only: nothing is written to the index. */
  dryRun?: boolean;
  /** While NEEDS_MAPPING: the token that resumes the waiting execution. Never shown to the user. */
  mappingTaskToken?: string;
  rowsImported?: number;
  rowsCreated?: number;
  rowsUpdated?: number;
  rowsUnchanged?: number;
  rowsRejected?: number;
  onBehalfRows?: number;
  /**
   * Set with COMMITTING, once every valid row is staged (and the error report written): the counts, so a retry
   * of the commit only finishes it instead of counting rows it committed itself as unchanged.
   */
  staged?: ImportRowCounts;
  /** In the permanent bucket. */
  errorReportKey?: string;
  /** Where the original lives after a successful import (permanent bucket). */
  permanentKey?: string;
  quarantine?: QuarantineInfo;
  /** Resources: the type the identify check read from the bytes, and the kept image's thumbnail (permanent bucket). */
  detectedType?: { mime: string; ext: string };
  thumbnailKey?: string;
  /** Why it was rejected or failed, in words for the user. */
  reason?: string;
  finishedAt?: string;
  /** Its turn for an import slot (core/import/slot-tasks.ts): the files ahead while it waits, when it got one. */
  turn?: ImportTurn;
}

export interface ImportTurn {
  filesAhead: number;
  /** When it began to wait. */
  since: string;
  /** Set once it got a slot. */
  grantedAt?: string;
}

/** The fields that change after creation. */
export type ImportChange = Partial<
  Pick<
    ImportRecord,
    | 'status'
    | 'executionArn'
    | 'computedSha256'
    | 'encoding'
    | 'delimiter'
    | 'columns'
    | 'preview'
    | 'mapping'
    | 'mappingTaskToken'
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
    | 'detectedType'
    | 'thumbnailKey'
    | 'reason'
    | 'finishedAt'
    | 'turn'
  >
> & { checks?: Partial<ImportChecks> };

/** The status of a record after a change, or the change's own. */
export function applyImportChange(record: ImportRecord, change: ImportChange, at: Date): ImportRecord {
  const { checks, ...rest } = change;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Partial<ImportRecord>;
  return { ...record, ...defined, checks: { ...record.checks, ...(checks ?? {}) }, updatedAt: at.toISOString() };
}

export const CANCELLED_IMPORT_REASON = 'The import was cancelled.';

/**
 * A stored record as it reads today: records written before CANCELLED existed said FAILED with the
 * cancel reason, and read as CANCELLED.
 */
export function currentImportRecord(record: ImportRecord): ImportRecord {
  if (record.status === 'FAILED' && record.reason === CANCELLED_IMPORT_REASON) return { ...record, status: 'CANCELLED' };
  return record;
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

/** The read condition that pins a record's upload (none for a record from before pinning). */
export const pinnedUpload = (record: ImportRecord): ObjectCondition => (record.uploadedEtag ? { ifMatch: record.uploadedEtag } : {});

export async function mustGetImport(imports: ImportRecords, importId: string): Promise<ImportRecord> {
  const record = await imports.get(importId);
  if (!record) throw new NotFound(`No import ${importId}.`);
  return record;
}
