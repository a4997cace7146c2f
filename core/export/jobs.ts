import type { AuditEntry, AuditOutcome, ExportJobStatus, ExportJobView, ExportStatusProgress, JobPage } from '../contract';
import { InvalidInput, NotFound } from '../errors';
import { isAdmin, type User } from '../model';
import type { AuditLog, Clock, ExecutionService, ExportProgress, ExportRecords, Mailer, ObjectStore, UserDirectory, WarningLog } from '../ports';
import { exportPageUrl, NOT_FOUND_MESSAGE, searchInWords, sharedMail } from './messages';
import { presignReport, reportKey } from './job';
import type { ExportRecord, JobPerson } from './records';

/** The export job routes: lists, one job with a fresh link, cancel/delete, sharing. Status comes from the record only. */

export const NO_EXPORT_MESSAGE = 'No export with that id.';
const ACTIVE: readonly ExportJobStatus[] = ['QUEUED', 'RUNNING'];

/** Ferry issues UUIDs; anything else is simply not found, never sent on as a key. */
const isIssuedId = (id: string): boolean => /^[A-Za-z0-9-]{1,80}$/.test(id);

/** SUCCEEDED whose file's time is up reads as EXPIRED (the bucket lifecycle has deleted it, or soon will). */
export function effectiveStatus(record: ExportRecord, now: Date): ExportJobStatus {
  if (record.status === 'SUCCEEDED' && record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) return 'EXPIRED';
  return record.status;
}

/** What `viewer` sees of a record: the owner sees who it is shared with; a grantee sees `shared: true`. */
export function exportJobView(record: ExportRecord, viewer: User, now: Date, progress?: ExportStatusProgress): ExportJobView {
  const owns = record.owner.userId === viewer.userId;
  const status = effectiveStatus(record, now);
  return {
    kind: 'export',
    exportId: record.exportId,
    ...(record.executionArn ? { executionArn: record.executionArn } : {}),
    delivery: record.delivery,
    searchCriteria: record.searchCriteria,
    searchSummary: searchInWords(record.searchCriteria),
    ...(record.columns ? { columns: record.columns } : {}),
    status,
    ...(progress && ACTIVE.includes(status) ? { progress } : {}),
    ...(record.rowCount !== undefined ? { rowCount: record.rowCount } : {}),
    ...(record.bytes !== undefined ? { bytes: record.bytes } : {}),
    ...(record.fileName ? { fileName: record.fileName } : {}),
    createdAt: record.createdAt,
    ...(record.startedAt ? { startedAt: record.startedAt } : {}),
    ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
    ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(owns || isAdmin(viewer) ? { sharedWith: record.sharedWith.map((person) => person.username) } : {}),
    owner: record.owner.username,
    ...(owns ? {} : { shared: true as const }),
  };
}

/** The export, if the caller owns it or it is shared with them; anyone else's is indistinguishable from none. */
export async function visibleExport(exportJobs: ExportRecords, user: User, exportId: string): Promise<ExportRecord> {
  const record = isIssuedId(exportId) ? await exportJobs.get(exportId) : undefined;
  const sees = record && (record.owner.userId === user.userId || record.sharedWith.some((person) => person.userId === user.userId));
  if (!record || !sees) throw new NotFound(NO_EXPORT_MESSAGE);
  return record;
}

/** Only the owner may cancel, delete or share; to anyone else it does not exist. */
export async function ownedExportRecord(exportJobs: ExportRecords, user: User, exportId: string): Promise<ExportRecord> {
  const record = isIssuedId(exportId) ? await exportJobs.get(exportId) : undefined;
  if (!record || record.owner.userId !== user.userId) throw new NotFound(NO_EXPORT_MESSAGE);
  return record;
}

/**
 * The export an execution runs, for its owner only (the push `$connect` and the old download-request route).
 * The execution's name is the export id, and the record must name that same execution.
 */
export async function ownedExportOfExecution(exportJobs: ExportRecords, user: User, executionArn: string): Promise<ExportRecord> {
  const exportId = executionArn.split(':').at(-1) ?? '';
  const record = isIssuedId(exportId) ? await exportJobs.get(exportId) : undefined;
  if (!record || record.owner.userId !== user.userId || record.executionArn !== executionArn) throw new NotFound(NOT_FOUND_MESSAGE);
  return record;
}

/** Progress is a courtesy: if it cannot be read, the job is still answered, without it. */
export async function progressOf(
  deps: { exportProgress: ExportProgress; log?: WarningLog },
  record: ExportRecord,
): Promise<ExportStatusProgress | undefined> {
  if (!ACTIVE.includes(record.status)) return undefined;
  try {
    const snapshot = await deps.exportProgress.get(record.exportId);
    if (!snapshot) return undefined;
    return { rowsWritten: snapshot.rowsWritten, ...(snapshot.totalRows !== undefined ? { totalRows: snapshot.totalRows } : {}) };
  } catch (error) {
    deps.log?.warn({ exportId: record.exportId, err: error }, 'Could not read export progress');
    return undefined;
  }
}

export async function listExports(
  deps: { exportJobs: ExportRecords; exportProgress: ExportProgress; clock: Clock; log?: WarningLog },
  user: User,
  page: { limit: number; cursor?: string },
): Promise<JobPage<ExportJobView>> {
  const { records, nextCursor } = await deps.exportJobs.listVisibleTo(user.userId, page);
  const now = deps.clock.now();
  const items = await Promise.all(records.map(async ({ record }) => exportJobView(record, user, now, await progressOf(deps, record))));
  return { items, ...(nextCursor ? { cursor: nextCursor } : {}) };
}

/** One export with a freshly signed link while its file exists; handing out the link is audited as a download. */
export async function getExport(
  deps: { exportJobs: ExportRecords; exportProgress: ExportProgress; objects: ObjectStore; audit: AuditLog; clock: Clock; log?: WarningLog },
  user: User,
  exportId: string,
): Promise<ExportJobView> {
  const record = await visibleExport(deps.exportJobs, user, exportId);
  const now = deps.clock.now();
  const view = exportJobView(record, user, now, await progressOf(deps, record));
  if (view.status !== 'SUCCEEDED' || !record.bucket || !record.key || !record.expiresAt) return view;
  const url = await presignReport(
    deps,
    { bucket: record.bucket, key: record.key, expiresAt: record.expiresAt, rowCount: record.rowCount ?? 0, bytes: record.bytes ?? 0 },
    record.fileName,
  );
  if (!url) return view;
  await deps.audit.record(jobAuditEntry(record, 'DOWNLOADED', now, { subject: user.username, unique: true }));
  return { ...view, url };
}

/**
 * DELETE /api/exports/{id}: a running export is cancelled (marked first, so its tasks see it, then
 * stopped, and any file it managed to write is removed); a finished one has its file and record deleted.
 */
export async function cancelOrDeleteExport(
  deps: {
    exportJobs: ExportRecords;
    executions: ExecutionService;
    objects: ObjectStore;
    audit: AuditLog;
    clock: Clock;
    config: { exportsBucket: string };
  },
  user: User,
  exportId: string,
): Promise<{ cancelled: boolean }> {
  const record = await ownedExportRecord(deps.exportJobs, user, exportId);
  const now = deps.clock.now();
  const bucket = record.bucket ?? deps.config.exportsBucket;
  const key = record.key ?? reportKey({ exportId, requestedBy: { ...record.owner, groups: [] } });
  if (ACTIVE.includes(record.status)) {
    const cancelled = await deps.exportJobs.update(exportId, { status: 'CANCELLED', finishedAt: now.toISOString(), error: 'The export was cancelled.' }, now, ACTIVE);
    if (cancelled) {
      if (record.executionArn) await deps.executions.stop(record.executionArn, `Cancelled by ${user.username}`);
      await deps.objects.delete(bucket, key);
      await deps.audit.record(jobAuditEntry(record, 'CANCELLED', now));
      return { cancelled: true };
    }
    // It finished meanwhile: delete it as a finished one.
  }
  await deps.objects.delete(bucket, key);
  await deps.exportJobs.delete(exportId);
  await deps.audit.record(jobAuditEntry(record, 'DELETED', now));
  return { cancelled: false };
}

/** The people named, or a 400 naming every username nobody signs in as. */
export async function peopleNamed(users: UserDirectory, usernames: readonly string[], field: string): Promise<JobPerson[]> {
  const wanted = [...new Set(usernames)];
  const people = await users.findByUsernames(wanted);
  const unknown = wanted.filter((name) => !people.some((person) => person.username === name));
  if (unknown.length > 0) throw new InvalidInput(`No such user: ${unknown.join(', ')}.`, field);
  return people;
}

/** Grants the people access, tells each new one by email, and audits each grant. */
export async function shareExport(
  deps: { exportJobs: ExportRecords; users: UserDirectory; mailer: Mailer; audit: AuditLog; clock: Clock; config: { appUrl: string } },
  user: User,
  exportId: string,
  usernames: readonly string[],
  field = 'usernames',
): Promise<ExportJobView> {
  const record = await ownedExportRecord(deps.exportJobs, user, exportId);
  const people = await peopleNamed(deps.users, usernames, field);
  return grant(deps, user, record, people);
}

/** Shares an export the caller owns with people already looked up. */
export async function grant(
  deps: { exportJobs: ExportRecords; mailer: Mailer; audit: AuditLog; clock: Clock; config: { appUrl: string } },
  user: User,
  record: ExportRecord,
  people: JobPerson[],
): Promise<ExportJobView> {
  const already = new Set([record.owner.userId, ...record.sharedWith.map((person) => person.userId)]);
  const fresh = people.filter((person) => !already.has(person.userId));
  const shared = await deps.exportJobs.share(record.exportId, fresh);
  const now = deps.clock.now();
  for (const person of fresh) {
    await deps.audit.record(jobAuditEntry(record, 'SHARED', now, { subject: person.username, unique: true }));
    await deps.mailer.send(sharedMail(record, person, exportPageUrl(deps.config.appUrl, record.exportId)));
  }
  return exportJobView(shared, user, now);
}

export async function unshareExport(
  deps: { exportJobs: ExportRecords; audit: AuditLog; clock: Clock },
  user: User,
  exportId: string,
  username: string,
): Promise<ExportJobView> {
  const record = await ownedExportRecord(deps.exportJobs, user, exportId);
  const person = record.sharedWith.find((candidate) => candidate.username === username);
  if (!person) throw new NotFound(`${exportId} is not shared with ${username}.`);
  const updated = await deps.exportJobs.unshare(exportId, person.userId);
  const now = deps.clock.now();
  await deps.audit.record(jobAuditEntry(record, 'UNSHARED', now, { subject: username, unique: true }));
  return exportJobView(updated, user, now);
}

/** An audit entry about a job record; `unique` entries (grants, downloads) may repeat, so their id carries the time. */
export function jobAuditEntry(
  record: ExportRecord,
  outcome: AuditOutcome,
  at: Date,
  extra: { subject?: string; unique?: boolean } = {},
): AuditEntry {
  const suffix = extra.unique ? `:${extra.subject ?? ''}:${at.toISOString()}` : '';
  return {
    id: `export:${record.exportId}:${outcome}${suffix}`,
    kind: 'export',
    ...(record.executionArn ? { executionArn: record.executionArn } : {}),
    userId: record.owner.userId,
    username: record.owner.username,
    delivery: record.delivery,
    searchCriteria: record.searchCriteria,
    ...(record.rowCount !== undefined ? { rowCount: record.rowCount } : {}),
    outcome,
    ...(extra.subject ? { subject: extra.subject } : {}),
    requestedAt: record.createdAt,
    recordedAt: at.toISOString(),
  };
}
