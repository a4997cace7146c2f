import * as z from 'zod';
import { mapLimit } from '../concurrency';
import type {
  BatchStatusView,
  CreatedImports,
  ImportParts,
  ImportState,
  ImportStatusView,
  QuarantinedFileView,
  QuarantinePage,
  UploadInstructions,
} from '../contract';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../errors';
import { unquotedEtag } from '../etag';
import { isAdmin, type User } from '../model';
import type { ArrivedUpload, AuditLog, Clock, ConnectionRendezvous, ExecutionService, IdGenerator, ImportRecords, ObjectStore } from '../ports';
import { parseInput } from '../validation';
import { importAuditEntry } from './audit';
import type { ImportConfig } from './config';
import { presignErrorReport } from './error-report-link';
import { importJobOf, ownerOf } from './job';
import { importPushKey } from './keys';
import { ColumnMappingSchema, mappingProblem } from './mapping';
import { PENDING_CHECKS, isFinal, isIssuedId, ownedImport, publicStatusOf, type ImportRecord, type ImportStatus } from './records';
import { startImportExecution } from './start';
import {
  DEFAULT_MAX_BATCH_FILES,
  MULTIPART_MAX_PARTS,
  parseCreateImportRequest,
  parseUploadKey,
  partRange,
  planMultipartUpload,
  presignedPostPlan,
  uploadKey,
  uploadMethodFor,
  type CreateImportRequest,
  type ImportFileSpec,
} from './upload-policy';

/**
 * The import's HTTP use-cases: creating imports (one file or a batch) with their upload links, part links
 * for multipart uploads, completing an upload, the object-created event, status, and the admins'
 * quarantine list. The workflow's tasks are in ./tasks.ts.
 */

/** Upload links (the POST form, each part's PUT) work for an hour; /parts gives fresh part links to resume. */
export const UPLOAD_LINK_SECONDS = 3600;

/** Files per batch request: each answer carries a ~1.2 KB upload form per file, and Lambda answers at most 6 MB. */
export const MAX_BATCH_FILES = Math.min(DEFAULT_MAX_BATCH_FILES, 2000);

export interface CreateDeps {
  imports: ImportRecords;
  objects: ObjectStore;
  audit: AuditLog;
  ids: IdGenerator;
  clock: Clock;
  config: Pick<ImportConfig, 'uploadsBucket' | 'maxImportBytes'>;
}

/** `POST /api/imports`: records each file AWAITING_UPLOAD and hands back where and how to upload it. */
export async function createImport(deps: CreateDeps, user: User, body: unknown): Promise<CreatedImports> {
  const request = parseCreateImportRequest(body, { maxImportBytes: deps.config.maxImportBytes, maxBatchFiles: MAX_BATCH_FILES });
  const { batchId, uploads } = await createUploads(deps, user, request);
  if (!batchId) {
    const [only] = uploads;
    if (!only) throw new Error('an import request holds at least one file');
    return { importId: only.record.importId, upload: only.instructions };
  }
  return {
    batchId,
    imports: uploads.map(({ record, instructions }) => ({ importId: record.importId, fileName: record.fileName, upload: instructions })),
  };
}

/**
 * The records (AWAITING_UPLOAD) and upload instructions of one request's files, stored and audited: what
 * `POST /api/imports` and `POST /api/resources` (`kind: 'resource'`) share. A batch gets a batchId.
 */
export async function createUploads(
  deps: CreateDeps,
  user: User,
  request: CreateImportRequest,
  kind?: 'resource',
): Promise<{ batchId?: string; uploads: Array<{ record: ImportRecord; instructions: UploadInstructions }> }> {
  const now = deps.clock.now();
  const batchId = request.batch ? deps.ids.newId() : undefined;
  const planned = request.files.map((file) => ({ file, importId: deps.ids.newId(), random: deps.ids.newId() }));
  const uploads = await mapLimit(planned, 16, async ({ file, importId, random }) => {
    const key = uploadKey(user.userId, importId, random);
    const instructions = await uploadInstructions(deps, key, file);
    const record: ImportRecord = {
      importId,
      ...(kind ? { kind } : {}),
      ...(batchId ? { batchId } : {}),
      owner: ownerOf(user),
      fileName: file.fileName,
      size: file.size,
      contentType: file.contentType,
      ...(file.sha256 ? { sha256: file.sha256 } : {}),
      ...(request.mapping ? { mapping: request.mapping } : {}),
      ...(request.dryRun ? { dryRun: true } : {}),
      delivery: request.delivery,
      status: 'AWAITING_UPLOAD',
      checks: { ...PENDING_CHECKS },
      upload: {
        bucket: deps.config.uploadsBucket,
        key,
        method: instructions.method === 'POST' ? 'post' : 'multipart',
        ...(instructions.method === 'multipart'
          ? { uploadId: instructions.uploadId, partBytes: instructions.partSize, partCount: instructions.partCount }
          : {}),
      },
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    return { record, instructions };
  });
  await deps.imports.create(uploads.map((upload) => upload.record));
  await mapLimit(uploads, 16, ({ record }) => deps.audit.record(importAuditEntry(record, 'REQUESTED', now)));
  return { ...(batchId ? { batchId } : {}), uploads };
}

const MappingRequestSchema = z.object({ mapping: ColumnMappingSchema }).strict();

/**
 * `POST /api/imports/{importId}/mapping` `{mapping}`: resumes an import waiting in NEEDS_MAPPING with the
 * user's column mapping. The mapping is checked against the file's columns (400 naming what is wrong); an
 * import not waiting (any more, or not yet) is a 409.
 */
export async function submitImportMapping(
  deps: { imports: ImportRecords; executions: ExecutionService; clock: Clock },
  user: User,
  importId: string,
  body: unknown,
): Promise<{ importId: string; status: ImportStatus }> {
  const record = await ownedImport(deps.imports, user, importId);
  const { mapping } = parseInput(MappingRequestSchema, body);
  if (record.status !== 'NEEDS_MAPPING' || !record.mappingTaskToken) {
    throw new Conflict(`The import is ${record.status}, not waiting for a column mapping.`);
  }
  const problem = mappingProblem(record.columns ?? [], mapping);
  if (problem) throw new InvalidInput(`mapping: ${problem}`, 'mapping');
  const token = record.mappingTaskToken;
  await deps.imports.update(importId, { status: 'RUNNING', mapping }, deps.clock.now());
  await deps.executions.sendTaskSuccess(token, { importId });
  return { importId, status: 'RUNNING' };
}

async function uploadInstructions(
  deps: Pick<CreateDeps, 'objects' | 'config'>,
  key: string,
  file: ImportFileSpec,
): Promise<UploadInstructions> {
  const bucket = deps.config.uploadsBucket;
  if (uploadMethodFor(file.size) === 'post') {
    const form = await deps.objects.presignPost(presignedPostPlan({ bucket, key, file }), UPLOAD_LINK_SECONDS);
    return { method: 'POST', ...form };
  }
  const plan = planMultipartUpload(file.size);
  const { uploadId } = await deps.objects.createMultipartUpload(bucket, key, file.contentType);
  const numbers = Array.from({ length: plan.partCount }, (_, i) => i + 1);
  const parts = await mapLimit(numbers, 32, async (partNumber) => ({
    partNumber,
    url: await deps.objects.presignUploadPart(bucket, key, uploadId, partNumber, UPLOAD_LINK_SECONDS),
    ...partRange(plan, partNumber),
  }));
  return { method: 'multipart', uploadId, partSize: plan.partBytes, partCount: plan.partCount, parts };
}

const PartsRequestSchema = z
  .object({ partNumbers: z.array(z.number().int().min(1).max(MULTIPART_MAX_PARTS)).min(1).max(MULTIPART_MAX_PARTS).optional() })
  .strict();

/** `POST /api/imports/{importId}/parts`: fresh links for some (default: all) parts, to upload in parallel or resume. */
export async function presignImportParts(
  deps: { imports: ImportRecords; objects: ObjectStore },
  user: User,
  importId: string,
  body: unknown,
): Promise<ImportParts> {
  const request = parseInput(PartsRequestSchema, body);
  const record = await ownedImport(deps.imports, user, importId);
  const { upload } = record;
  if (upload.method !== 'multipart' || !upload.uploadId)
    throw new InvalidInput('This import is uploaded with one POST, not in parts.', 'importId');
  if (record.status !== 'AWAITING_UPLOAD') throw new InvalidInput('This import has already been uploaded.', 'importId');
  const plan = planMultipartUpload(record.size, upload.partBytes);
  const uploadId = upload.uploadId;
  const numbers = request.partNumbers ?? Array.from({ length: plan.partCount }, (_, i) => i + 1);
  const parts = await mapLimit(numbers, 32, async (partNumber) => {
    const range = partRange(plan, partNumber);
    return {
      partNumber,
      url: await deps.objects.presignUploadPart(upload.bucket, upload.key, uploadId, partNumber, UPLOAD_LINK_SECONDS),
      ...range,
    };
  });
  return { importId, uploadId, partSize: plan.partBytes, partCount: plan.partCount, parts };
}

const CompleteRequestSchema = z
  .object({
    parts: z
      .array(z.object({ partNumber: z.number().int().min(1).max(MULTIPART_MAX_PARTS), etag: z.string().min(1).max(200) }).strict())
      .min(1)
      .max(MULTIPART_MAX_PARTS)
      .optional(),
  })
  .strict();

interface StartDeps {
  imports: ImportRecords;
  executions: ExecutionService;
  clock: Clock;
  config: Pick<ImportConfig, 'importMapConcurrency'>;
}

/**
 * `POST /api/imports/{importId}/complete`, the fallback for stores without object-created events and the
 * end of a multipart upload. Idempotent: whatever arrives twice, one execution runs per import (per batch).
 */
export async function completeImport(
  deps: StartDeps & { objects: ObjectStore },
  user: User,
  importId: string,
  body: unknown,
): Promise<{ importId: string; status: ImportStatus }> {
  const request = parseInput(CompleteRequestSchema, body);
  const record = await ownedImport(deps.imports, user, importId);
  const { upload } = record;
  if (!record.uploadedAt) {
    if (upload.method === 'multipart' && upload.uploadId && request.parts) {
      try {
        await deps.objects.completeMultipartUpload(upload.bucket, upload.key, upload.uploadId, request.parts);
      } catch (error) {
        // Completed already (a repeated request): the object below says whether it worked.
        if (!(error instanceof NotFound)) throw error;
      }
    }
    const head = await deps.objects.head(upload.bucket, upload.key);
    if (!head) {
      const what = upload.method === 'multipart' ? 'complete the multipart upload with its parts' : 'upload it with the form first';
      throw new InvalidInput(`The file has not arrived in storage yet; ${what}.`, upload.method === 'multipart' ? 'parts' : 'importId');
    }
    const { record: started } = await startUploadedImport(deps, importId, head.etag ? { etag: head.etag, bytes: head.bytes } : undefined);
    return { importId, status: started.status };
  }
  const { record: started } = await startUploadedImport(deps, importId);
  return { importId, status: started.status };
}

/** The object-created event (S3 → EventBridge in AWS, the local S3's event locally). */
export interface UploadedObject {
  bucket: string;
  key: string;
  /** The event's ETag and size of the object created: what the import's checks are pinned to. */
  etag?: string;
  size?: number;
}

export type UploadEventOutcome = 'started' | 'waiting-for-batch' | 'ignored' | 'deleted-late-upload';

/** Ended imports whose upload target is empty for good (moved or deleted); FAILED keeps its upload for a retry. */
const UPLOAD_GONE_STATUSES: ReadonlySet<ImportStatus> = new Set(['SUCCEEDED', 'QUARANTINED', 'REJECTED']);

/**
 * Starts the import an upload belongs to; objects that are not an import's expected upload are ignored. An upload
 * to an import that has ended (its still-valid form used again) is deleted: it is never checked, so never kept.
 */
export async function onUploadCreated(
  deps: StartDeps & { objects: Pick<ObjectStore, 'delete'>; config: Pick<ImportConfig, 'uploadsBucket'> },
  object: UploadedObject,
): Promise<UploadEventOutcome> {
  if (object.bucket !== deps.config.uploadsBucket) return 'ignored';
  const owner = parseUploadKey(object.key);
  if (!owner) return 'ignored';
  const record = await deps.imports.get(owner.importId);
  if (!record || record.owner.userId !== owner.userId || record.upload.key !== object.key) return 'ignored';
  if (UPLOAD_GONE_STATUSES.has(record.status)) {
    await deps.objects.delete(record.upload.bucket, record.upload.key);
    return 'deleted-late-upload';
  }
  const arrived = object.etag !== undefined && object.size !== undefined ? { etag: unquotedEtag(object.etag), bytes: object.size } : undefined;
  const { started } = await startUploadedImport(deps, record.importId, arrived);
  return started ? 'started' : 'waiting-for-batch';
}

/**
 * Marks the upload arrived (pinning the object that did) and, for a single file or the last file of a batch,
 * starts the execution.
 */
async function startUploadedImport(
  deps: StartDeps,
  importId: string,
  arrived?: ArrivedUpload,
): Promise<{ record: ImportRecord; started: boolean }> {
  const { record, batchUploaded } = await deps.imports.markUploaded(importId, deps.clock.now(), arrived);
  if (!batchUploaded) return { record, started: false };
  const records = record.batchId ? await deps.imports.listBatch(record.batchId) : [record];
  await startImportExecution(deps.executions, importJobOf(records, deps.config));
  return { record, started: true };
}

// ---------------------------------------------------------------------------------------------
// Status

/** `GET /api/imports/{id}`: an import, or a batch by its id; another user's is not found. */
export async function importStatus(
  deps: { imports: ImportRecords; objects: ObjectStore; config: Pick<ImportConfig, 'permanentBucket'> },
  user: User,
  id: string,
): Promise<ImportStatusView | BatchStatusView> {
  if (!isIssuedId(id)) throw new NotFound('No import with that id.');
  const record = await deps.imports.get(id);
  if (record) {
    if (record.owner.userId !== user.userId) throw new NotFound('No import with that id.');
    return statusView(deps, record);
  }
  const files = await deps.imports.listBatch(id);
  if (files.length === 0 || files[0]?.owner.userId !== user.userId) throw new NotFound('No import with that id.');
  const counts = {
    AWAITING_UPLOAD: 0,
    RUNNING: 0,
    NEEDS_MAPPING: 0,
    SUCCEEDED: 0,
    QUARANTINED: 0,
    REJECTED: 0,
    FAILED: 0,
    CANCELLED: 0,
    EXPIRED: 0,
  } satisfies Record<ImportState, number>;
  for (const file of files) counts[publicStatusOf(file.status)]++;
  const ended = files.every(isFinal);
  return {
    batchId: id,
    status: ended ? 'COMPLETED' : counts.AWAITING_UPLOAD === files.length ? 'AWAITING_UPLOAD' : 'RUNNING',
    checksComplete: files.every((file) => isFinal(file) || Object.values(file.checks).every((check) => check !== 'pending')),
    counts,
    files: await mapLimit(files, 32, (file) => statusView(deps, file)),
  };
}

export async function statusView(
  deps: { objects: ObjectStore; config: Pick<ImportConfig, 'permanentBucket'> },
  record: ImportRecord,
): Promise<ImportStatusView> {
  const errorReportUrl = await presignErrorReport(deps, record);
  // A file that ended any other way than SUCCEEDED had nothing of it committed: say so, not "unknown".
  const none = isFinal(record) && record.status !== 'SUCCEEDED' ? 0 : undefined;
  const count = (value: number | undefined) => value ?? none;
  const rows = {
    rowsImported: count(record.rowsImported),
    rowsCreated: count(record.rowsCreated),
    rowsUpdated: count(record.rowsUpdated),
    rowsUnchanged: count(record.rowsUnchanged),
  };
  return {
    importId: record.importId,
    fileName: record.fileName,
    status: publicStatusOf(record.status),
    checks: record.checks,
    ...(record.encoding ? { encoding: record.encoding } : {}),
    ...(record.delimiter ? { delimiter: record.delimiter } : {}),
    ...Object.fromEntries(Object.entries(rows).filter(([, value]) => value !== undefined)),
    ...(record.rowsRejected !== undefined ? { rowsRejected: record.rowsRejected } : {}),
    ...(errorReportUrl ? { errorReportUrl } : {}),
    ...(record.status === 'NEEDS_MAPPING' && record.preview ? { preview: record.preview } : {}),
    ...(record.mapping ? { mapping: record.mapping } : {}),
    ...(record.dryRun ? { dryRun: true } : {}),
    ...(record.reason ? { reason: record.reason } : {}),
    ...(record.quarantine ? { signature: record.quarantine.signature } : {}),
    ...(record.status === 'RUNNING' && record.turn && !record.turn.grantedAt
      ? { waiting: { filesAhead: record.turn.filesAhead, since: record.turn.since } }
      : {}),
    ...(record.batchId ? { batchId: record.batchId } : {}),
    ...(record.executionArn ? { executionArn: record.executionArn } : {}),
    createdAt: record.createdAt,
    ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Push and admin

/** The browser joins an import's (or batch's) push messages; only its owner may. */
export async function connectBrowserToImport(
  deps: { imports: ImportRecords; rendezvous: ConnectionRendezvous },
  user: User,
  id: string,
  connectionId: string,
): Promise<void> {
  if (!isIssuedId(id)) throw new NotFound('No import with that id.');
  const record = (await deps.imports.get(id)) ?? (await deps.imports.listBatch(id))[0];
  if (!record || record.owner.userId !== user.userId) throw new NotFound('No import with that id.');
  await deps.rendezvous.attachConnection(importPushKey(id), connectionId);
}

const QuarantineQuerySchema = z
  .object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(2000).optional() })
  .strict();

/** `GET /api/admin/quarantine`: what was quarantined, by whom, with which signature; admins only. */
export async function listQuarantine(
  deps: { imports: ImportRecords },
  user: User,
  query: Record<string, string | undefined>,
): Promise<QuarantinePage> {
  if (!isAdmin(user)) throw new Forbidden('Only admins can see the quarantine.');
  const { limit, cursor } = parseInput(QuarantineQuerySchema, query);
  const page = await deps.imports.listQuarantined({ limit, ...(cursor ? { cursor } : {}) });
  const items = page.records.flatMap((record): QuarantinedFileView[] =>
    record.quarantine
      ? [
          {
            importId: record.importId,
            fileName: record.fileName,
            userId: record.owner.userId,
            username: record.owner.username,
            email: record.owner.email,
            size: record.size,
            signature: record.quarantine.signature,
            quarantinedAt: record.quarantine.quarantinedAt,
            bucket: record.quarantine.bucket,
            key: record.quarantine.key,
          },
        ]
      : [],
  );
  return { items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}
