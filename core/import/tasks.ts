import type { Readable } from 'node:stream';
import { mapLimit } from '../concurrency';
import type { ImportSummary } from '../contract';
import { InvalidInput, NotFound } from '../errors';
import type {
  AuditLog,
  ByteRange,
  Clock,
  ConnectionRendezvous,
  ImportRecords,
  Mailer,
  ObjectCondition,
  ObjectStore,
  PushChannel,
  ObjectLocation,
  StagingSearchSource,
  VirusScanner,
} from '../ports';
import { utcDateOf, type Post } from '../model';
import { attemptAll, failureDetail, type WorkflowFailure } from '../workflow-failure';
import { importAuditEntry } from './audit';
import { checksum, checksumStep, type ChecksumProgress } from './checksum';
import {
  DEFAULT_CHECKSUM_STEP_BYTES,
  DEFAULT_SCAN_RANGE_BYTES,
  DEFAULT_SCAN_RANGE_CONCURRENCY,
  DEFAULT_SCAN_RANGE_OVERLAP_BYTES,
  type ImportConfig,
} from './config';
import { ErrorReportWriter } from './error-report';
import { presignErrorReport } from './error-report-link';
import { identifyFormat, type FormatVerdict } from './format';
import type { FileTaskInput, ImportJob } from './job';
import { errorReportKeyOf, importPushKey, permanentKeyOf, quarantineKeyOf } from './keys';
import {
  finishedPush,
  importFailureMail,
  outcomeMail,
  plainImportFailure,
  quarantineMail,
  quarantineReason,
  expiredReason,
  foreignPostReason,
  foreignUserIdReason,
  rejectionReason,
  repeatedIdReason,
  unreadableReason,
  UPLOAD_CHANGED_REASON,
} from './messages';
import { mappingProblem, previewOf } from './mapping';
import { isFinal, mustGetImport, pinnedUpload, type ImportRecord, type ImportRowCounts, type ImportStatus } from './records';
import { importedPostId, readImportRows, type ImportBatch, type RejectedRow, type RowFormat } from './rows';
import type { ImportChunk } from './chunks';
import type { ScanVerdict } from './scanner';
import { identifyResourceType, type ResourceVerdict } from '../resource/identify';
import { resourceQuarantineReason } from '../resource/messages';
import { isResource } from '../resource/records';

/**
 * The tasks of statemachines/import.asl.yaml. Each reads the file it works on from the upload bucket
 * as a stream (never a whole file in memory, never a local copy) and records what it found on the
 * import record, so the status endpoint shows each check as it completes.
 */

// ---------------------------------------------------------------------------------------------
// "Check the uploaded file": three checks in parallel

/**
 * Antivirus. Fails closed: a scanner that cannot give a verdict throws (Transient is retried), never "clean". A file
 * that fits one clamd stream (SCAN_RANGE_BYTES + SCAN_RANGE_OVERLAP_BYTES) is scanned here, whole, and its verdict
 * recorded. A larger one is not read here: the task returns its ranges (scanRanges), "Scan each range" runs
 * scanVirusRange once per range (its own task, its own Retry), and recordScanVerdicts records the one verdict; see
 * the README for what ranges cannot see.
 */
export async function scanForViruses(
  deps: {
    imports: ImportRecords;
    objects: ObjectStore;
    scanner: VirusScanner;
    clock: Clock;
    config?: Pick<ImportConfig, 'scanRangeBytes' | 'scanRangeOverlapBytes' | 'scanRangeConcurrency'>;
  },
  input: FileTaskInput,
): Promise<ScanVerdict | ScanPlan> {
  const record = await mustGetImport(deps.imports, input.importId);
  const pin = pinnedUpload(record);
  const size = record.uploadedBytes ?? record.size;
  const ranges = scanRanges(size, deps.config?.scanRangeBytes ?? DEFAULT_SCAN_RANGE_BYTES, deps.config?.scanRangeOverlapBytes ?? DEFAULT_SCAN_RANGE_OVERLAP_BYTES);
  if (ranges.length > 1) return { ranges, rangeConcurrency: deps.config?.scanRangeConcurrency ?? DEFAULT_SCAN_RANGE_CONCURRENCY };
  const verdict = await deps.scanner.scan(await deps.objects.getStream(record.upload.bucket, record.upload.key, pin));
  await recordAntivirus(deps, input, verdict);
  return verdict;
}

/** What "Scan for viruses" returns for a file over one clamd stream: the ranges "Scan each range" scans, and how many at once. */
export interface ScanPlan {
  ranges: ByteRange[];
  rangeConcurrency: number;
}

/** One range of a ranged scan ("Scan each range"): read pinned to the uploaded object, like the whole-file scan. Records nothing. */
export async function scanVirusRange(
  deps: { imports: ImportRecords; objects: ObjectStore; scanner: VirusScanner },
  input: FileTaskInput & { range: ByteRange },
): Promise<ScanVerdict> {
  const record = await mustGetImport(deps.imports, input.importId);
  const { start, end } = input.range;
  return deps.scanner.scan(await deps.objects.getStream(record.upload.bucket, record.upload.key, { ...pinnedUpload(record), range: { start, end } }));
}

/** The one verdict of a ranged scan: infected (the first infected range's signature) if any range is, else clean. */
export async function recordScanVerdicts(
  deps: { imports: ImportRecords; clock: Clock },
  input: FileTaskInput & { verdicts: ScanVerdict[] },
): Promise<ScanVerdict> {
  await mustGetImport(deps.imports, input.importId);
  if (input.verdicts.length === 0) throw new InvalidInput('a ranged scan without a verdict of any range');
  const verdict = input.verdicts.find((one) => !one.clean) ?? { clean: true as const };
  await recordAntivirus(deps, input, verdict);
  return verdict;
}

async function recordAntivirus(deps: { imports: ImportRecords; clock: Clock }, input: FileTaskInput, verdict: ScanVerdict) {
  await deps.imports.update(
    input.importId,
    { executionArn: input.executionArn, checks: { antivirus: verdict.clean ? 'clean' : 'infected' } },
    deps.clock.now(),
  );
}

/** The ranges a file of `size` bytes is scanned in: one (the whole file) up to `rangeBytes + overlapBytes`. */
export function scanRanges(size: number, rangeBytes: number, overlapBytes: number): ByteRange[] {
  if (size <= rangeBytes + overlapBytes) return [{ start: 0, end: size }];
  const ranges: ByteRange[] = [];
  for (let start = 0; start < size; start += rangeBytes) ranges.push({ start, end: Math.min(size, start + rangeBytes + overlapBytes) });
  return ranges;
}

export interface ChecksumOutcome {
  sha256: string;
  bytes: number;
  expectedSha256?: string;
  expectedBytes: number;
  /** `mismatch` also when the object's size is not the size declared (a multipart upload cannot enforce it). */
  verdict: 'verified' | 'unverified' | 'mismatch';
}

/** What "Compute checksum" returns for a file not hashed to its end yet: where "Checksum more of the file" goes on from. */
export interface ChecksumStepOutcome {
  progress: ChecksumProgress;
}

/**
 * Checksum. A file within CHECKSUM_STEP_BYTES is hashed here in one pass, as it always was. A larger one is hashed
 * that many bytes per invocation, each a ranged read pinned to the uploaded object: every invocation but the last
 * returns its `progress` (the offset and the hash's saved state), which "Checksum more of the file" hands back to
 * go on from; the last one records the verdict. A retried step starts again from the same progress.
 */
export async function computeChecksum(
  deps: { imports: ImportRecords; objects: ObjectStore; clock: Clock; config?: Pick<ImportConfig, 'checksumStepBytes'> },
  input: FileTaskInput & { progress?: ChecksumProgress },
): Promise<ChecksumOutcome | ChecksumStepOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  const stepBytes = deps.config?.checksumStepBytes ?? DEFAULT_CHECKSUM_STEP_BYTES;
  // The size of the object that arrived (the ETag pins it); without it, the one-pass read of old.
  const objectBytes = record.uploadedBytes;
  let result: { sha256: string; bytes: number };
  if (input.progress === undefined && (objectBytes === undefined || objectBytes <= stepBytes)) {
    result = await checksum(await deps.objects.getStream(record.upload.bucket, record.upload.key, pinnedUpload(record)));
  } else {
    if (objectBytes === undefined) throw new InvalidInput('a stepwise checksum of an upload whose size was not recorded on arrival');
    const start = input.progress?.offset ?? 0;
    const end = Math.min(objectBytes, start + stepBytes);
    const stream = await deps.objects.getStream(record.upload.bucket, record.upload.key, { ...pinnedUpload(record), range: { start, end } });
    // A read that came up short ends the hash there: its size then tells the mismatch, rather than a step that never advances.
    const stepped = await checksumStep(stream, input.progress, (bytes) => bytes >= objectBytes || bytes < end);
    if ('state' in stepped) return { progress: stepped };
    result = stepped;
  }
  const matches = record.sha256 === undefined ? undefined : result.sha256 === record.sha256.trim().toLowerCase();
  const verdict = result.bytes !== record.size || matches === false ? 'mismatch' : matches ? 'verified' : 'unverified';
  await deps.imports.update(
    input.importId,
    { executionArn: input.executionArn, computedSha256: result.sha256, checks: { checksum: verdict } },
    deps.clock.now(),
  );
  return {
    sha256: result.sha256,
    bytes: result.bytes,
    ...(record.sha256 ? { expectedSha256: record.sha256 } : {}),
    expectedBytes: record.size,
    verdict,
  };
}

/**
 * Format from the first bytes and their structure; reads a bounded prefix only. A CSV file needs a column
 * mapping when its header does not map onto post fields by itself and no mapping that fits it came up front
 * (or one came that does not fit): the record then holds the preview the user maps from.
 */
export async function identifyImportFormat(
  deps: {
    imports: ImportRecords;
    objects: ObjectStore;
    clock: Clock;
    config: Pick<ImportConfig, 'importMappingTimeoutSeconds'> & Partial<Pick<ImportConfig, 'resourceTypes'>>;
  },
  input: FileTaskInput,
): Promise<FormatVerdict | ResourceVerdict> {
  const record = await mustGetImport(deps.imports, input.importId);
  // A resource is identified as any allowed type, not as rows (core/resource/).
  if (isResource(record)) return identifyResourceType(deps, record, input);
  const { rows, ...verdict } = await identifyFormat(await deps.objects.getStream(record.upload.bucket, record.upload.key, pinnedUpload(record)));
  const { encoding, delimiter, columns } = verdict;
  const needsMapping =
    verdict.format === 'csv' && columns
      ? record.mapping
        ? mappingProblem(columns, record.mapping) !== undefined
        : verdict.needsMapping === true
      : undefined;
  const preview =
    needsMapping && columns && delimiter && encoding ? previewOf({ columns, rows: rows ?? [], delimiter, encoding }) : undefined;
  await deps.imports.update(
    input.importId,
    { executionArn: input.executionArn, checks: { format: verdict.format }, encoding, delimiter, columns, preview },
    deps.clock.now(),
  );
  if (needsMapping === undefined) return verdict;
  return { ...verdict, needsMapping, ...(needsMapping ? { mappingTimeoutSeconds: deps.config.importMappingTimeoutSeconds } : {}) };
}

// ---------------------------------------------------------------------------------------------
// "Wait for column mapping": the callback task and its timeout

/**
 * The callback task's Lambda: the import shows NEEDS_MAPPING (with the preview the format check stored) and
 * keeps the task token, which `POST /api/imports/{importId}/mapping` hands back to resume the execution.
 */
export async function awaitImportMapping(
  deps: { imports: ImportRecords; clock: Clock },
  input: FileTaskInput & { taskToken: string },
): Promise<void> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (isFinal(record)) return;
  await deps.imports.update(
    input.importId,
    { status: 'NEEDS_MAPPING', executionArn: input.executionArn, mappingTaskToken: input.taskToken },
    deps.clock.now(),
  );
}

/** No mapping came before the wait timed out: EXPIRED, nothing imported, the upload deleted. Safe to retry. */
export async function expireImport(deps: Omit<OutcomeDeps, 'mailer'>, input: FileTaskInput): Promise<FileOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (isFinal(record)) return { importId: record.importId, status: record.status };
  await deps.objects.delete(record.upload.bucket, record.upload.key);
  const at = deps.clock.now();
  const reason = expiredReason(deps.config.importMappingTimeoutSeconds);
  const updated = await deps.imports.update(record.importId, { status: 'EXPIRED', reason, finishedAt: at.toISOString() }, at);
  await deps.audit.record(importAuditEntry(updated, 'EXPIRED', at, { executionArn: input.executionArn, error: reason }));
  return { importId: record.importId, status: updated.status };
}

/**
 * What "Check the uploaded file" puts at `$.checks` (its ResultSelector), as the outcomes read it: a file's checksum
 * that came back as a ChecksumStepOutcome is finished by "Checksum more of the file" before any of them runs.
 */
export interface CheckResults {
  antivirus: ScanVerdict;
  checksum: ChecksumOutcome;
  format: FormatVerdict | ResourceVerdict;
}

// ---------------------------------------------------------------------------------------------
// The outcomes of the Choice

type OutcomeDeps = { imports: ImportRecords; objects: ObjectStore; audit: AuditLog; mailer: Mailer; clock: Clock; config: ImportConfig };

export interface FileOutcome {
  importId: string;
  status: ImportStatus;
}

/** Infected: copy to the quarantine bucket, delete the upload, alert the admins, QUARANTINED. Safe to retry. */
export async function quarantineFile(deps: OutcomeDeps, input: FileTaskInput & { signature: string }): Promise<FileOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (record.status === 'QUARANTINED') return { importId: record.importId, status: record.status };
  const target = { bucket: deps.config.quarantineBucket, key: quarantineKeyOf(record) };
  await moveObject(deps.objects, record.upload, target, pinnedUpload(record));
  const at = deps.clock.now();
  const reason = isResource(record) ? resourceQuarantineReason(input.signature) : quarantineReason(input.signature);
  const updated = await deps.imports.update(
    record.importId,
    {
      status: 'QUARANTINED',
      quarantine: { ...target, signature: input.signature, quarantinedAt: at.toISOString() },
      reason,
      finishedAt: at.toISOString(),
    },
    at,
  );
  await deps.audit.record(importAuditEntry(updated, 'QUARANTINED', at, { executionArn: input.executionArn, error: input.signature }));
  await deps.mailer.send(quarantineMail(deps.config, record, input, target));
  return { importId: record.importId, status: updated.status };
}

/** Why "Reject file" runs: what the checks found, or (`failure`, an UploadChanged) the upload changed after it arrived. */
export type RejectInput = FileTaskInput & ({ checks: CheckResults } | { failure: WorkflowFailure });

/** Wrong format, checksum mismatch or a changed upload: REJECTED with the reason; the upload is deleted. */
export async function rejectFile(deps: Omit<OutcomeDeps, 'mailer'>, input: RejectInput): Promise<FileOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (record.status === 'REJECTED') return { importId: record.importId, status: record.status };
  const reason = 'checks' in input ? rejectionReason(input.checks) : UPLOAD_CHANGED_REASON;
  await deps.objects.delete(record.upload.bucket, record.upload.key);
  const at = deps.clock.now();
  const updated = await deps.imports.update(record.importId, { status: 'REJECTED', reason, finishedAt: at.toISOString() }, at);
  await deps.audit.record(importAuditEntry(updated, 'REJECTED', at, { executionArn: input.executionArn, error: reason }));
  return { importId: record.importId, status: updated.status };
}

/** Rows handed to the search store per bulk request. */
export const IMPORT_INDEX_BATCH = 1000;

export interface ProcessOutcome extends FileOutcome {
  rowsImported: number;
  rowsRejected: number;
}

export type ProcessDeps = {
  imports: ImportRecords;
  objects: ObjectStore;
  search: StagingSearchSource;
  audit: AuditLog;
  clock: Clock;
  config: ImportConfig;
};

export const NO_ROWS: ImportRowCounts = { rowsCreated: 0, rowsUpdated: 0, rowsUnchanged: 0, rowsRejected: 0, onBehalfRows: 0 };
const rowsImportedOf = (counts: ImportRowCounts): number => counts.rowsCreated + counts.rowsUpdated + counts.rowsUnchanged;

/**
 * Clean: all or nothing, in two steps.
 * 1. Stage: stream-parse, validate each row, check its authorship, compare it with the post stored under
 *    its id (created / updated / unchanged), stage the created and updated ones under the import's id
 *    (invisible to search), and write the rejected rows with their reasons to the error report. A file that
 *    turns unreadable part-way (bad UTF-8, broken quoting) is REJECTED here with its staging discarded:
 *    nothing of it was ever searchable. An id the file repeats is rejected on each later row (the staging keeps one post per id and import).
 * 2. Commit: the record goes RUNNING → COMMITTING with the counts (`staged`) in one conditional write (a cancel
 *    that came first wins; after it a cancel is refused), the staged posts become searchable together (search.commitStaged,
 *    idempotent), then the original moves to the permanent bucket and the record says SUCCEEDED.
 * A retry of the task before step 2 discards what the earlier attempt staged and restages the same rows
 * under the same ids (no duplicates, no gaps); once COMMITTING, it only finishes the commit, with the counts of step 1.
 */
export async function processImport(deps: ProcessDeps, input: FileTaskInput & { format: RowFormat }): Promise<ProcessOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (isFinal(record)) return endedOutcome(deps, record);
  const permanent = { bucket: deps.config.permanentBucket, key: permanentKeyOf(record) };
  // A retry after the move (but before the record said so) reads the original where it now is.
  const source = (await deps.objects.head(record.upload.bucket, record.upload.key, pinnedUpload(record))) ? record.upload : permanent;
  const errorReportKey = errorReportKeyOf(record);

  // A dry run checks and validates every row and writes the report and the counts, but stages and commits nothing.
  const dryRun = record.dryRun === true;
  // The counts of a staging that finished are kept only with the claim of its commit (COMMITTING): a file that
  // failed and was retried stages again, since the failure discarded its staging.
  let counts = record.status === 'COMMITTING' ? record.staged : undefined;
  if (!counts) {
    // Staging starts again from the first row: what an earlier attempt of this task staged goes first, or its
    // rows would come back as ids repeated within the file.
    if (!dryRun) await deps.search.discardStaged(record.importId);
    // The permanent copy was pinned when it was made (and no browser can write there).
    const rows = await deps.objects.getStream(source.bucket, source.key, source === record.upload ? pinnedUpload(record) : {});
    const staged = await stageRows(deps, record, input.format, rows, { key: errorReportKey });
    if ('unreadable' in staged) {
      await deps.search.discardStaged(record.importId);
      return finishProcessing(
        deps,
        record,
        input,
        { source, permanent, errorReportKey },
        { ...NO_ROWS, rowsRejected: staged.rowsRejected },
        staged.unreadable,
      );
    }
    counts = staged.counts;
  }
  // The commit claims the import, RUNNING → COMMITTING with the counts in one conditional write: a cancel or the
  // failure handler that ended it first wins and nothing commits; once claimed, a cancel is refused (cancelOrDeleteImport).
  const claimed = await deps.imports.updateIf(record.importId, { status: 'COMMITTING', staged: counts }, deps.clock.now(), COMMITTABLE);
  if (!claimed) return endedOutcome(deps, await mustGetImport(deps.imports, record.importId));
  if (!dryRun) await deps.search.commitStaged(record.importId);
  return finishProcessing(deps, record, input, { source, permanent, errorReportKey }, counts);
}

/** The statuses a commit may start from: RUNNING, or COMMITTING again for a retry of a commit that was cut short. */
export const COMMITTABLE: readonly ImportStatus[] = ['RUNNING', 'COMMITTING'];

/** An import that already ended: one that did not succeed keeps nothing staged (discarding twice is harmless). */
export async function endedOutcome(deps: Pick<ProcessDeps, 'search'>, record: ImportRecord): Promise<ProcessOutcome> {
  if (record.status !== 'SUCCEEDED') await deps.search.discardStaged(record.importId);
  return {
    importId: record.importId,
    status: record.status,
    rowsImported: record.rowsImported ?? 0,
    rowsRejected: record.rowsRejected ?? 0,
  };
}

/** What staging the rows of a file (or of one chunk) came to. */
type StagedRows =
  | { counts: ImportRowCounts; /** A chunk met an id a later chunk had staged first (chunk-tasks.ts). */ laterChunkHolds?: boolean }
  | { unreadable: InvalidInput; rowsRejected: number };

/**
 * Step 1 of processImport (and of each chunk, "Import each chunk"): every row staged or in the error report
 * (`report.key`; a chunk's part without the header after the first), or the reason the file is unreadable.
 */
export async function stageRows(
  deps: ProcessDeps,
  record: ImportRecord,
  format: RowFormat,
  input_: Readable,
  target: { key: string; header?: boolean },
  chunk?: ImportChunk,
): Promise<StagedRows> {
  // The report is written as the file was (its columns, delimiter and encoding), so it can be fixed and uploaded again.
  const layout = format === 'csv' ? record : { encoding: record.encoding };
  const report = new ErrorReportWriter({ ...layout, ...(target.header === false ? { header: false } : {}) });
  const reportWritten = deps.objects
    .putStream(deps.config.permanentBucket, target.key, report.stream, {
      contentType: report.contentType,
      metadata: { 'import-id': record.importId },
    })
    .catch((error: unknown) => {
      // Unblocks a write waiting for 'drain', and the read, so the task fails (with the store's error) instead of hanging.
      const failure = error instanceof Error ? error : new Error(String(error));
      // Only a write waiting for 'drain' listens for the error: without a listener it would crash the process.
      report.stream.on('error', () => undefined);
      report.stream.destroy(failure);
      input_.destroy(failure);
      throw error;
    });
  // A store that fails while the rows are still being read is no unhandled rejection: it is awaited below.
  reportWritten.catch(() => undefined);

  const counts = { ...NO_ROWS };
  const holds = { laterChunk: false };
  let unreadable: InvalidInput | undefined;
  try {
    try {
      for await (const batch of readImportRows(input_, {
        importId: record.importId,
        format,
        defaultUserId: record.owner.userId,
        batchSize: IMPORT_INDEX_BATCH,
        ...(record.encoding ? { encoding: record.encoding } : {}),
        ...(record.delimiter ? { delimiter: record.delimiter } : {}),
        ...(record.mapping ? { mapping: record.mapping } : {}),
        ...(chunk && chunk.index > 0 ? { continueFrom: chunk } : {}),
      })) {
        await report.write(await stageBatch(deps.search, record, batch, counts, record.dryRun === true, chunk, holds));
      }
    } catch (error) {
      if (!(error instanceof InvalidInput && error.field === 'file')) throw error;
      unreadable = error;
    }
  } catch (error) {
    report.stream.destroy();
    await reportWritten.catch(() => undefined);
    throw error;
  }
  report.end();
  await reportWritten;
  counts.rowsRejected = report.rowCount;
  if (unreadable) return { unreadable, rowsRejected: report.rowCount };
  return holds.laterChunk ? { counts, laterChunkHolds: true } : { counts };
}

/**
 * One batch: authorship (a member writes only posts that are theirs, by userId and by the stored post's
 * owner; an admin may write anyone's), then created / updated / unchanged against the stored posts; the
 * created and updated posts are staged. Returns the batch's rejected rows (with the store's refusals).
 */
async function stageBatch(
  search: StagingSearchSource,
  record: ImportRecord,
  batch: ImportBatch,
  counts: ImportRowCounts,
  dryRun: boolean,
  chunk?: ImportChunk,
  holds?: { laterChunk: boolean },
): Promise<RejectedRow[]> {
  const { owner } = record;
  // Generated ids (`<importId>-<row>`) are never stored before the commit: only ids from the file are looked up.
  const fromFile = batch.posts.filter((post, i) => post.id !== importedPostId(record.importId, batch.origins[i]?.rowNumber ?? 0));
  const stored = fromFile.length > 0 ? await search.postsById(fromFile.map((post) => post.id)) : new Map<string, Post>();
  const rejected = [...batch.rejected];
  const toStage: Array<{ post: Post; origin: Omit<RejectedRow, 'reason'>; kind: 'rowsCreated' | 'rowsUpdated'; onBehalf: boolean }> = [];
  // A repeat within the batch is refused here, with the line it repeats; across batches the staging refuses it.
  const firstLineOf = new Map<string, number>();
  for (const [i, post] of batch.posts.entries()) {
    const origin = batch.origins[i] ?? { rowNumber: 0, raw: '' };
    const seenOn = firstLineOf.get(post.id);
    if (seenOn !== undefined) {
      rejected.push({ ...origin, reason: repeatedIdReason(post.id, seenOn) });
      continue;
    }
    const existing = stored.get(post.id);
    const refusal = owner.admin
      ? undefined
      : post.userId !== owner.userId
        ? foreignUserIdReason(post.userId, owner.userId)
        : existing && existing.userId !== owner.userId
          ? foreignPostReason(post.id)
          : undefined;
    if (refusal !== undefined) {
      rejected.push({ ...origin, reason: refusal });
      continue;
    }
    firstLineOf.set(post.id, origin.line ?? origin.rowNumber + 1);
    const onBehalf = post.userId !== owner.userId;
    if (existing && samePost(existing, post)) {
      counts.rowsUnchanged++;
      if (onBehalf) counts.onBehalfRows++;
      continue;
    }
    toStage.push({ post, origin, kind: existing ? 'rowsUpdated' : 'rowsCreated', onBehalf });
  }
  const refused =
    toStage.length > 0 && !dryRun
      ? (
          await search.stagePosts(
            record.importId,
            toStage.map(({ post }) => post),
            ...(chunk ? [{ chunk: chunk.index }] : []),
          )
        ).rejected
      : [];
  // A later chunk staged this id first: the file read in one piece would have kept this row and refused that one.
  if (chunk && holds && refused.some((refusal) => refusal.repeated && (refusal.stagedBy ?? chunk.index) > chunk.index)) holds.laterChunk = true;
  // Each id is staged once per batch (repeats were refused above), so a refusal names exactly one row.
  const reasons = new Map(refused.map((refusal) => [refusal.id, refusal.repeated ? repeatedIdReason(refusal.id) : refusal.reason]));
  for (const { post, origin, kind, onBehalf } of toStage) {
    const reason = reasons.get(post.id);
    if (reason !== undefined) {
      rejected.push({ ...origin, reason });
      continue;
    }
    counts[kind]++;
    if (onBehalf) counts.onBehalfRows++;
  }
  return rejected.sort((a, b) => a.rowNumber - b.rowNumber);
}

/** The same post as stored: same author, instant, content and tags (a date's notation may differ). */
const samePost = (a: Post, b: Post): boolean =>
  a.userId === b.userId &&
  a.content === b.content &&
  utcDateOf(a.dateCreated) === utcDateOf(b.dateCreated) &&
  a.tags.length === b.tags.length &&
  a.tags.every((tag, i) => tag === b.tags[i]);

/** Moves the original to the permanent bucket and records the outcome: SUCCEEDED, or REJECTED with nothing imported. */
export async function finishProcessing(
  deps: ProcessDeps,
  record: ImportRecord,
  input: FileTaskInput,
  where: { source: ObjectLocation; permanent: ObjectLocation; errorReportKey: string },
  counts: ImportRowCounts,
  unreadable?: InvalidInput,
): Promise<ProcessOutcome> {
  if (where.source === record.upload) await moveObject(deps.objects, record.upload, where.permanent, pinnedUpload(record));
  const at = deps.clock.now();
  const reason = unreadable ? unreadableReason(unreadable.message) : undefined;
  const rowsImported = rowsImportedOf(counts);
  const updated = await deps.imports.update(
    record.importId,
    {
      status: unreadable ? 'REJECTED' : 'SUCCEEDED',
      rowsImported,
      rowsCreated: counts.rowsCreated,
      rowsUpdated: counts.rowsUpdated,
      rowsUnchanged: counts.rowsUnchanged,
      rowsRejected: counts.rowsRejected,
      ...(counts.onBehalfRows > 0 ? { onBehalfRows: counts.onBehalfRows } : {}),
      errorReportKey: where.errorReportKey,
      permanentKey: where.permanent.key,
      ...(reason ? { reason } : {}),
      finishedAt: at.toISOString(),
    },
    at,
  );
  await deps.audit.record(
    importAuditEntry(updated, unreadable ? 'REJECTED' : 'SUCCEEDED', at, {
      executionArn: input.executionArn,
      rowCount: rowsImported,
      onBehalfRows: counts.onBehalfRows,
      ...(reason ? { error: reason } : {}),
    }),
  );
  return { importId: record.importId, status: updated.status, rowsImported, rowsRejected: counts.rowsRejected };
}

/** Copy then delete; when a retry finds the source already gone, the copy must be there. Only the pinned source is copied. */
export async function moveObject(
  objects: ObjectStore,
  from: { bucket: string; key: string },
  to: { bucket: string; key: string },
  pin: ObjectCondition,
): Promise<void> {
  if (await objects.head(from.bucket, from.key, pin)) {
    await objects.copy(from, to, pin);
    await objects.delete(from.bucket, from.key);
  } else if (!(await objects.head(to.bucket, to.key))) {
    throw new NotFound(`Neither s3://${from.bucket}/${from.key} nor its copy s3://${to.bucket}/${to.key} exists.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Notification and failure

/** Links in a mail outlive the status page's: a mail is read later. */
const MAIL_LINK_SECONDS = 7 * 24 * 3600;

type NotifyDeps = {
  imports: ImportRecords;
  objects: ObjectStore;
  mailer: Mailer;
  push: PushChannel;
  rendezvous: ConnectionRendezvous;
  config: ImportConfig;
};

/**
 * "Notify user", once per execution (one message for a whole batch): by email, by push to a connected
 * browser, or not at all for `direct` (the browser polls). Returns the summary the state machine uses to
 * end as failed when any file failed.
 */
export async function notifyImportOutcome(deps: NotifyDeps, input: { executionArn: string; job: ImportJob }): Promise<ImportSummary> {
  const records = await recordsOf(deps.imports, input.job);
  const summary = summarize(records);
  const id = input.job.batchId ?? input.job.importIds[0] ?? '';
  if (input.job.delivery === 'email') {
    const links = await mapLimit(records.slice(0, 100), 8, (record) => presignErrorReport(deps, record, MAIL_LINK_SECONDS));
    await deps.mailer.send(outcomeMail(input.job, records, links, summary, deps.config.appUrl));
  } else if (input.job.delivery === 'push') {
    const connectionId = await deps.rendezvous.connectionOf(importPushKey(id));
    if (connectionId) {
      const message = finishedPush(id, input.job, summary, records);
      // A gone browser is not a failure: the status stays available by polling.
      await deps.push.post(connectionId, message);
    }
  }
  return summary;
}

/**
 * The failure handler. For one file of the Map (`importId`): staged rows discarded, FAILED, audited, admins alerted; the user
 * hears with everyone else in "Notify user". For the whole execution (`job`): every file not yet ended is
 * FAILED, audited, and the user is told too.
 */
export async function handleImportFailure(
  deps: NotifyDeps & { audit: AuditLog; clock: Clock; search: Pick<StagingSearchSource, 'discardStaged'> },
  input: { executionArn: string; failure: WorkflowFailure; importId?: string; job?: ImportJob },
): Promise<void> {
  const ids = input.importId ? [input.importId] : (input.job?.importIds ?? []);
  const reason = plainImportFailure(input.failure);
  const detail = failureDetail(input.failure);
  const at = deps.clock.now();
  const records = (await mapLimit(ids, 16, (importId) => deps.imports.get(importId))).filter(
    (record): record is ImportRecord => record !== undefined,
  );
  const failed = await mapLimit(
    records.filter((record) => !isFinal(record)),
    16,
    async ({ importId }) => {
      const updated = await deps.imports.update(
        importId,
        { status: 'FAILED', reason, executionArn: input.executionArn, finishedAt: at.toISOString() },
        at,
      );
      await deps.audit.record(importAuditEntry(updated, 'FAILED', at, { executionArn: input.executionArn, error: detail }));
      return updated;
    },
  );

  await attemptAll([
    // All or nothing: what a file that did not succeed staged never becomes searchable. FAILED is recorded
    // first, so a processImport still running sees it before its commit; a retry of this task discards again.
    mapLimit(
      records.filter((record) => record.status !== 'SUCCEEDED'),
      16,
      ({ importId }) => deps.search.discardStaged(importId),
    ),
    failed.length > 0
      ? deps.mailer.send(importFailureMail(deps.config.adminEmail, input.executionArn, input.failure, failed))
      : Promise.resolve(),
    input.job ? notifyImportOutcome(deps, { executionArn: input.executionArn, job: input.job }) : Promise.resolve(),
  ]);
}

async function recordsOf(imports: ImportRecords, job: ImportJob): Promise<ImportRecord[]> {
  if (job.batchId) return imports.listBatch(job.batchId);
  return (await mapLimit(job.importIds, 16, (id) => imports.get(id))).filter((record): record is ImportRecord => record !== undefined);
}

function summarize(records: ImportRecord[]): ImportSummary {
  const count = (status: ImportStatus) => records.filter((record) => record.status === status).length;
  return {
    files: records.length,
    succeeded: count('SUCCEEDED'),
    quarantined: count('QUARANTINED'),
    rejected: count('REJECTED'),
    // Anything not ended by now did not make it.
    failed: records.filter((record) => record.status === 'FAILED' || !isFinal(record)).length,
    rowsImported: records.reduce((sum, record) => sum + (record.rowsImported ?? 0), 0),
    rowsRejected: records.reduce((sum, record) => sum + (record.rowsRejected ?? 0), 0),
  };
}
