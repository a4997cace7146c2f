import type { Readable } from 'node:stream';
import type { AuditEntry, ExecutionState, ExportJobStatus, WorkflowName } from './contract';
export type { AuditEntry, AuditKind, AuditOutcome, WorkflowName } from './contract';
import type { PageRequest, Post, SearchCriteria } from './model';
import type { ExportChange, ExportRecord, ExportRecordPage, JobPerson } from './export/records';
import type { ImportChange, ImportRecord, ImportStatus } from './import/records';
import type { ScanVerdict } from './import/scanner';
import type { SlotsState } from './import/slots';
import type { PresignedPostPlan } from './import/upload-policy';

/**
 * Ports: the only ways the domain core talks to the world. Each has an AWS adapter
 * (adapters/aws) and, where AWS is not around, a local one (adapters/local); tests use in-memory fakes.
 */

export interface SearchPage {
  total: number;
  hits: Post[];
}

export interface SearchSource {
  /** One page of matches, newest first (dateCreated desc, then id desc). */
  search(criteria: SearchCriteria, page: PageRequest): Promise<SearchPage>;
  /** Every match (only those in `range` when given), newest first, in batches; memory stays flat whatever the total. */
  scan(criteria: SearchCriteria, options?: { batchSize?: number; range?: ScanRange }): AsyncIterable<Post[]>;
  /**
   * Splits the matches into at most `slices` ranges of the newest-first order with about equal counts (fewer
   * when there are fewer distinct keys), in order, covering every match at the time of planning and none
   * newer: the first range starts after the newest key seen now, so posts indexed later with a newer date stay out.
   */
  planSlices(criteria: SearchCriteria, slices: number): Promise<SlicePlan>;
  /**
   * Insert or replace posts by id (bulk). Posts the store refuses one by one (OpenSearch: a 400 item) come
   * back in `rejected` with the store's reason; the others are stored. `refresh`: this is the last call of a
   * load, so it returns only once everything loaded is searchable.
   */
  indexPosts(posts: Post[], options?: { refresh?: boolean }): Promise<IndexOutcome>;
}

/**
 * A position in the newest-first order: the instant of `dateCreated` in epoch ms, then the id. A boundary
 * need not be a stored post (an id of '' sorts before every real id at that instant).
 */
export interface SortKey {
  createdMs: number;
  id: string;
}

/** A range of the newest-first order: the posts strictly after `after` (from the newest when absent), up to and including `through` (to the oldest when absent). */
export interface ScanRange {
  after?: SortKey;
  through?: SortKey;
}

export interface SlicePlan {
  /** Matches at the time of planning. */
  total: number;
  /** Adjacent ranges, newest first; empty when nothing matches. */
  ranges: ScanRange[];
}

/** A search source an import writes to: all or nothing (staged, then committed) and upsert by id. */
export interface StagingSearchSource extends SearchSource {
  /** The stored posts with these ids (ids not stored are absent); staged posts are not stored yet. */
  postsById(ids: readonly string[]): Promise<Map<string, Post>>;
  /**
   * An import's staging: posts written under `importId` where no search or scan sees them, at most one per id.
   * An id already staged under `importId` (the file repeats it) is not staged again: it comes back in `rejected`
   * with `repeated: true`, the first one staying. Posts the store would refuse come back in `rejected`, as from
   * indexPosts. A retried task discards its import's staging before staging again (discardStaged).
   * `chunk` (a chunked import, core/import/chunks.ts; default 0) records which chunk staged each post, so a retried
   * chunk discards only its own; a repeat names the chunk that staged the id first (`stagedBy`).
   */
  stagePosts(importId: string, posts: Post[], options?: StagingChunk): Promise<IndexOutcome>;
  /**
   * Makes every post staged under `importId` stored and searchable (inserting or replacing by id), then
   * forgets the staging; returns once all of it is searchable. Idempotent: run again, it finishes the job.
   */
  commitStaged(importId: string): Promise<{ committed: number }>;
  /** Forgets every post staged under `importId` (or only those one chunk staged); none of them ever becomes searchable. */
  discardStaged(importId: string, options?: StagingChunk): Promise<void>;
}

/** Which chunk of an import a staging call is for (0 for an import read as one piece). */
export interface StagingChunk {
  chunk?: number;
}

export interface RejectedPost {
  id: string;
  reason: string;
  /** stagePosts: this id was already staged under the import (an id repeated within one file). */
  repeated?: boolean;
  /** With `repeated`: the chunk that staged the id (a chunked import's chunks stage side by side). */
  stagedBy?: number;
}

export interface IndexOutcome {
  rejected: RejectedPost[];
}

export interface PutObjectOptions {
  contentType: string;
  contentDisposition?: string;
  metadata?: Record<string, string>;
}

/**
 * Reads only the object with this ETag (S3's If-Match, CopySourceIfMatch on copies): another object under the
 * key throws UploadChanged (core/errors.ts) instead of being read.
 */
export interface ObjectCondition {
  ifMatch?: string;
}

/** Bytes `start` (inclusive) to `end` (exclusive) of an object, as S3's `Range: bytes=start-(end-1)` reads them. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ObjectStore {
  /** Streams `body` to the store (multipart for large bodies); resolves with the bytes written. */
  putStream(bucket: string, key: string, body: Readable, options: PutObjectOptions): Promise<{ bytes: number }>;
  /** The object's bytes, or only those of `range` (an empty range is an empty stream). */
  getStream(bucket: string, key: string, condition?: ObjectCondition & { range?: ByteRange }): Promise<Readable>;
  /** A time-limited GET link; `downloadName` sets the file name the browser saves. */
  presignGet(bucket: string, key: string, expiresInSeconds: number, downloadName?: string): Promise<string>;
  delete(bucket: string, key: string): Promise<void>;
  /** Size, content type and ETag of an object; undefined when there is none. */
  head(bucket: string, key: string, condition?: ObjectCondition): Promise<ObjectHead | undefined>;
  /** Server-side copy (any size): the bytes never pass through this process. `condition` applies to the source. */
  copy(from: ObjectLocation, to: ObjectLocation, condition?: ObjectCondition): Promise<void>;
  /** A browser upload form whose policy (key, exact size, content type) the store enforces. */
  presignPost(plan: PresignedPostPlan, expiresInSeconds: number): Promise<PresignedPost>;
  /** `options`: the object's download name and metadata, as putStream sets them. */
  createMultipartUpload(
    bucket: string,
    key: string,
    contentType: string,
    options?: Pick<PutObjectOptions, 'contentDisposition' | 'metadata'>,
  ): Promise<{ uploadId: string }>;
  /** A time-limited PUT link for one part (1-based); the response's ETag completes the upload. */
  presignUploadPart(bucket: string, key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<string>;
  completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: UploadedPart[]): Promise<void>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  /** Uploads one part (1-based) of a multipart upload started here; resolves with its ETag. */
  putPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<UploadedPart>;
  /** Aborts every incomplete multipart upload of this key (ListMultipartUploads by prefix); resolves with how many. */
  abortUploadsOf(bucket: string, key: string): Promise<number>;
  /** The parts uploaded so far (every page of ListParts), by part number; NotFound when the upload is gone. */
  listParts(bucket: string, key: string, uploadId: string): Promise<ListedPart[]>;
}

export interface ListedPart extends UploadedPart {
  bytes: number;
}

export interface ObjectLocation {
  bucket: string;
  key: string;
}

export interface ObjectHead {
  bytes: number;
  contentType?: string;
  /** Without quotes. */
  etag?: string;
}

/** What a browser sends as multipart/form-data: `fields` first, then the file as `file`. */
export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** Posts to one WebSocket connection through the gateway's management API. */
export interface PushChannel {
  /** 'gone' when the connection no longer exists (HTTP 410). */
  post(connectionId: string, message: unknown): Promise<'delivered' | 'gone'>;
}

/**
 * Where a browser connection and a waiting task token meet. Either may arrive first; each call
 * records its half atomically and returns the other half if it is already there.
 */
export interface ConnectionRendezvous {
  attachConnection(executionArn: string, connectionId: string): Promise<{ taskToken?: string }>;
  attachTaskToken(executionArn: string, taskToken: string): Promise<{ connectionId?: string }>;
  connectionOf(executionArn: string): Promise<string | undefined>;
  detachConnection(connectionId: string): Promise<void>;
}

export interface ExecutionDescription {
  executionArn: string;
  status: ExecutionState;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
}

export interface ExecutionService {
  /** Throws ExecutionAlreadyStarted (core/errors.ts) when an execution of that workflow already has that name. */
  start(workflow: WorkflowName, name: string, input: unknown): Promise<{ executionArn: string }>;
  /** Undefined when no such execution exists. */
  describe(executionArn: string): Promise<ExecutionDescription | undefined>;
  sendTaskSuccess(taskToken: string, output: unknown): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
  /** Stops a running execution (StopExecution); one that already ended is left as it is. */
  stop(executionArn: string, cause: string): Promise<void>;
  /** Executions of a workflow with a status, newest first (without input/output). */
  list(workflow: WorkflowName, status: ExecutionDescription['status'], options: { limit: number }): Promise<ExecutionSummary[]>;
}

export interface ExecutionSummary {
  executionArn: string;
  workflow: WorkflowName;
  name: string;
  status: ExecutionDescription['status'];
  startDate: Date;
  stopDate?: Date;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  list(options: { limit: number; cursor?: string }): Promise<{ entries: AuditEntry[]; nextCursor?: string }>;
}

/** How far a running export has got; `totalRows` is absent when the count is not known (yet). */
export interface ExportProgressSnapshot {
  rowsWritten: number;
  totalRows?: number;
  updatedAt: string;
}

/**
 * Progress of running exports, written by "Generate CSV report" (or by each slice of a sliced export) and
 * read by the status route.
 */
export interface ExportProgress {
  /** Replaces the export's progress (a sliced export's planning records the total with 0 rows, forgetting its slices'). */
  record(exportId: string, progress: ExportProgressSnapshot): Promise<void>;
  /** The rows one slice has written so far; `get` adds every slice's rows to the recorded ones. */
  recordSlice(exportId: string, slice: number, rowsWritten: number, updatedAt: string): Promise<void>;
  /** Undefined when nothing was recorded for that export. */
  get(exportId: string): Promise<ExportProgressSnapshot | undefined>;
  /** What a slice has finished and uploaded, so a retried slice carries on after it (core/export/slices.ts). */
  recordSliceCheckpoint(exportId: string, slice: number, checkpoint: SliceCheckpoint): Promise<void>;
  sliceCheckpoint(exportId: string, slice: number): Promise<SliceCheckpoint | undefined>;
}

/** A slice's finished parts: `parts` parts holding `rows` rows and `bytes` bytes, the last of them ending with the post at `lastKey`. */
export interface SliceCheckpoint {
  uploadId: string;
  parts: number;
  rows: number;
  bytes: number;
  lastKey: SortKey;
}

/** Where the use-cases report trouble they carry on from (pino's `warn` fits). */
export interface WarningLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  newId(): string;
}

/** The object that arrived, pinned on the record by the first markUploaded (later calls keep the first). */
export interface ArrivedUpload {
  etag: string;
  bytes: number;
}

/** What Ferry keeps about each import (the record types are in core/import/records.ts). */
export interface ImportRecords {
  /** Creates the records of one request (one file or one batch) together. */
  create(records: ImportRecord[]): Promise<void>;
  get(importId: string): Promise<ImportRecord | undefined>;
  /** Every file of a batch, in the order they were requested. */
  listBatch(batchId: string): Promise<ImportRecord[]>;
  /** Applies `change` (checks merge field by field) and returns the record as it now is; NotFound when absent. */
  update(importId: string, change: ImportChange, at: Date): Promise<ImportRecord>;
  /**
   * Applies `change` only if the record's status is one of `from`, atomically (a conditional write), and returns
   * the record as it now is; undefined when its status was not one of `from`. NotFound when absent.
   */
  updateIf(importId: string, change: ImportChange, at: Date, from: readonly ImportStatus[]): Promise<ImportRecord | undefined>;
  /**
   * Records that the upload arrived, once: AWAITING_UPLOAD becomes RUNNING. Atomic, so of several files
   * of a batch arriving together exactly the state after the last says `batchUploaded` (and every later
   * call too: callers start the execution idempotently). Single imports: always true.
   */
  markUploaded(importId: string, at: Date, arrived?: ArrivedUpload): Promise<{ record: ImportRecord; batchUploaded: boolean }>;
  /** Removes a record (a cancelled import, a deleted resource); absent is fine. A batch's own item stays until its last file goes. */
  delete(importId: string): Promise<void>;
  /** A user's imports, newest first. */
  listOwnedBy(userId: string, options: { limit: number; cursor?: string }): Promise<{ records: ImportRecord[]; nextCursor?: string }>;
  /** Quarantined imports, newest first. */
  listQuarantined(options: { limit: number; cursor?: string }): Promise<{ records: ImportRecord[]; nextCursor?: string }>;
  /** One user's resources (records of kind `resource`, whatever their status), newest first. */
  listResources(userId: string, options: { limit: number; cursor?: string }): Promise<{ records: ImportRecord[]; nextCursor?: string }>;
}

/**
 * The import engine's shared slots (core/import/slots.ts decides; this keeps the one state): read it with its
 * version, and write a new state only if nobody wrote since (compare-and-set). An absent state reads as version 0.
 */
export interface ImportSlotStore {
  load(): Promise<{ state: SlotsState; version: number }>;
  /** False when the state changed since `version` was read: the caller reads again and decides again. */
  save(state: SlotsState, version: number): Promise<boolean>;
}

/** What Ferry keeps about each export (the record types are in core/export/records.ts). */
export interface ExportRecords {
  create(record: ExportRecord): Promise<void>;
  /** Undefined for an unknown id. */
  get(exportId: string): Promise<ExportRecord | undefined>;
  /**
   * Applies `change` if the record's status is one of `from` (any status when absent), atomically, and
   * returns the record as it now is; undefined when its status was not one of `from`. NotFound when absent.
   */
  update(exportId: string, change: ExportChange, at: Date, from?: readonly ExportJobStatus[]): Promise<ExportRecord | undefined>;
  /** Adds people to those it is shared with (already there: unchanged); returns the record. NotFound when absent. */
  share(exportId: string, people: JobPerson[]): Promise<ExportRecord>;
  /** Removes one person's share (none: unchanged); returns the record. NotFound when absent. */
  unshare(exportId: string, userId: string): Promise<ExportRecord>;
  /** Removes the record and its shares. */
  delete(exportId: string): Promise<void>;
  /** The exports a user owns and those shared with them, newest first. */
  listVisibleTo(userId: string, options: { limit: number; cursor?: string }): Promise<ExportRecordPage>;
  /** Every export, newest first, optionally only those with a status or of an owner (by username). */
  listAll(options: { limit: number; cursor?: string; status?: ExportJobStatus; ownerUsername?: string }): Promise<{ records: ExportRecord[]; nextCursor?: string }>;
}

/** Who can sign in (Cognito's user pool in AWS, the local token issuer's users locally). */
export interface UserDirectory {
  /** The people with these usernames; unknown usernames are left out. */
  findByUsernames(usernames: readonly string[]): Promise<JobPerson[]>;
}

/**
 * The antivirus check of an import. Implementations read `stream` to the end (or until a verdict is
 * certain) and never answer "clean" for data they did not scan: anything they cannot scan throws.
 * Unreachable scanner, timeout, dropped connection → `Transient` (worth retrying);
 * the scanner replied with an error or could not scan completely → `ScanFailed`.
 */
export interface VirusScanner {
  scan(stream: Readable): Promise<ScanVerdict>;
}
