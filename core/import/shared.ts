import { NotFound } from '../errors';
import type { DeliveryType, User } from '../model';
import type { AuditEntry, AuditOutcome, ExecutionService, ImportRecords, ObjectStore } from '../ports';
import { FINAL_IMPORT_STATUSES, type ImportOwner, type ImportRecord } from './records';

/** Pieces the import's HTTP use-cases and workflow tasks share. */

/** The configuration values the import use-cases read (a subset of functions/config.ts). */
export interface ImportConfig {
  uploadsBucket: string;
  permanentBucket: string;
  quarantineBucket: string;
  maxImportBytes: number;
  importMapConcurrency: number;
  adminEmail: string;
  appUrl: string;
}

/**
 * The input every import execution starts with: one file, or a batch run as one execution whose Map
 * state checks and imports `maxConcurrency` files at a time. Only ids travel in it (Step Functions
 * caps an execution's input at 256 KB); each task reads the rest from the import records.
 */
export interface ImportJob {
  /** Set for a batch; the execution is then named after it, else after the single import. */
  batchId?: string;
  importIds: string[];
  requestedBy: ImportOwner;
  delivery: DeliveryType;
  requestedAt: string;
  maxConcurrency: number;
}

/** What each per-file task of the Map gets (its ItemSelector). */
export interface FileTaskInput {
  importId: string;
  executionArn: string;
}

export const ownerOf = (user: User): ImportOwner => ({ userId: user.userId, username: user.username, email: user.email });

/** The rendezvous key a browser joins to hear about an import or a batch by push. */
export const importPushKey = (id: string): string => `import:${id}`;

/** The import, if it is the caller's; someone else's is indistinguishable from none. */
export async function ownedImport(imports: ImportRecords, user: User, importId: string): Promise<ImportRecord> {
  const record = await imports.get(importId);
  if (!record || record.owner.userId !== user.userId) throw new NotFound('No import with that id.');
  return record;
}

export async function mustGetImport(imports: ImportRecords, importId: string): Promise<ImportRecord> {
  const record = await imports.get(importId);
  if (!record) throw new NotFound(`No import ${importId}.`);
  return record;
}

export const isFinal = (record: ImportRecord): boolean => FINAL_IMPORT_STATUSES.has(record.status);

/** Where things live: built only from ids Ferry issued, never from the user's file name. */
export const permanentKeyOf = (record: ImportRecord): string => `imports/${record.owner.userId}/${record.importId}/original`;
export const errorReportKeyOf = (record: ImportRecord): string => `imports/${record.owner.userId}/${record.importId}/error-report.csv`;
export const quarantineKeyOf = (record: ImportRecord): string => `quarantine/${record.owner.userId}/${record.importId}`;

/** One audit entry per import per outcome; the id makes a retried task rewrite rather than duplicate it. */
export function importAuditEntry(
  record: ImportRecord,
  outcome: AuditOutcome,
  at: Date,
  details: { executionArn?: string; rowCount?: number; error?: string } = {},
): AuditEntry {
  const executionArn = details.executionArn ?? record.executionArn;
  return {
    id: `import:${record.importId}:${outcome}`,
    kind: 'import',
    ...(executionArn ? { executionArn } : {}),
    userId: record.owner.userId,
    username: record.owner.username,
    delivery: record.delivery,
    ...(details.rowCount !== undefined ? { rowCount: details.rowCount } : {}),
    outcome,
    ...(details.error !== undefined ? { error: details.error.slice(0, 1000) } : {}),
    requestedAt: record.createdAt,
    recordedAt: at.toISOString(),
  };
}

/** Links to an error report live a day; the status endpoint hands out a fresh one on every read. */
export const ERROR_REPORT_LINK_SECONDS = 24 * 3600;

export async function presignErrorReport(
  deps: { objects: ObjectStore; config: Pick<ImportConfig, 'permanentBucket'> },
  record: ImportRecord,
  seconds = ERROR_REPORT_LINK_SECONDS,
) {
  if (!record.errorReportKey || !record.rowsRejected) return undefined;
  const base =
    record.fileName
      .replace(/\.[^.]*$/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .slice(0, 80) || 'import';
  return deps.objects.presignGet(deps.config.permanentBucket, record.errorReportKey, seconds, `${base}-rejected-rows.csv`);
}

/** Runs `work` on every item, at most `limit` at a time, in order of the items' results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The job for uploaded records (one, or every file of a batch). Deterministic, so a second start sends the same input. */
export function importJobOf(records: ImportRecord[], config: Pick<ImportConfig, 'importMapConcurrency'>): ImportJob {
  const [first] = records;
  if (!first) throw new Error('an import job needs at least one file');
  return {
    ...(first.batchId ? { batchId: first.batchId } : {}),
    importIds: records.map((record) => record.importId),
    requestedBy: first.owner,
    delivery: first.delivery,
    requestedAt: first.createdAt,
    maxConcurrency: config.importMapConcurrency,
  };
}

/**
 * Starts the execution for a job, named after the batch or the import: Step Functions refuses a second
 * execution of the same name, so whatever arrives twice (the S3 event and /complete, a retried event)
 * starts exactly one. Resolves with the ARN when this call started it.
 */
export async function startImportExecution(executions: ExecutionService, job: ImportJob): Promise<{ executionArn?: string }> {
  const name = job.batchId ?? job.importIds[0] ?? '';
  try {
    return await executions.start('import', name, job);
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return {};
    throw error;
  }
}
