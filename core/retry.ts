import { mapLimit } from './concurrency';
import { Conflict, ExecutionAlreadyStarted, NotFound } from './errors';
import { exportAuditEntry } from './export/audit';
import { asExportJob, type ExportJob } from './export/job';
import { isRecord } from './guards';
import type { ImportJob } from './import/job';
import { PENDING_CHECKS, isFinal, isIssuedId, type ImportRecord } from './import/records';
import type { User } from './model';
import type { AuditEntry, AuditLog, Clock, ExecutionDescription, ExecutionService, ImportRecords, WorkflowName } from './ports';
import { requireAdmin } from './admin';

/**
 * Retry: a fresh execution of a failed execution's work, the same in both homes (a Step Functions redrive
 * would resume at the failed state, and every failure in Ferry's workflows ends in a caught Fail state, so
 * on AWS it would fail again at once). An export runs its job again; an import batch runs only its files
 * that did not end. The retry's name is derived from the original's, so a second Retry of the same
 * execution answers the same execution instead of starting another.
 */

const RETRYABLE: ReadonlySet<ExecutionDescription['status']> = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

/** `<name>-r1` for an original, `<name>-r<N+1>` for a retry of a retry (execution names allow 80 characters). */
export function retryNameOf(name: string): string {
  const retried = name.match(/^(.*)-r(\d+)$/);
  return retried ? `${retried[1]}-r${Number(retried[2]) + 1}` : `${name}-r1`;
}

/** `arn:…:execution:<machine>:<name>` split into the part before the name and the name. */
function splitExecutionArn(executionArn: string): { prefix: string; name: string } {
  const at = executionArn.lastIndexOf(':');
  return { prefix: executionArn.slice(0, at + 1), name: executionArn.slice(at + 1) };
}

function workflowOf(input: unknown): WorkflowName | undefined {
  if (asExportJob(input)) return 'export';
  if (isRecord(input) && Array.isArray(input.importIds) && isRecord(input.requestedBy)) return 'import';
  return undefined;
}

export interface RetryDeps {
  executions: ExecutionService;
  imports: ImportRecords;
  audit: AuditLog;
  clock: Clock;
}

/** `POST /api/admin/executions/{executionArn}/retry`: an admin retries any failed execution. */
export async function retryExecution(deps: RetryDeps, user: User, executionArn: string): Promise<{ executionArn: string }> {
  requireAdmin(user);
  return retryFailedExecution(deps, executionArn, ['export', 'import']);
}

/**
 * `POST /api/imports/{id}/retry`: the owner of a FAILED import (or of a batch with a FAILED file) retries
 * the execution that failed it, as an admin would; another user's import is not found, one that did not
 * fail is a Conflict. A batch's Retry runs every failed file of the batch (they are all the owner's).
 */
export async function retryImport(deps: RetryDeps, user: User, id: string): Promise<{ executionArn: string }> {
  const files = await ownedImportOrBatch(deps.imports, user, id);
  const failed = files.find((file) => file.status === 'FAILED');
  if (!failed) {
    const statuses = [...new Set(files.map((file) => file.status))].join(', ');
    throw new Conflict(`The import is ${statuses}: only a FAILED import can be retried.`);
  }
  if (!failed.executionArn) throw new Conflict('The import failed before its workflow started: upload the file again.');
  return retryFailedExecution(deps, failed.executionArn, ['import']);
}

async function ownedImportOrBatch(imports: ImportRecords, user: User, id: string): Promise<ImportRecord[]> {
  if (!isIssuedId(id)) throw new NotFound('No import with that id.');
  const record = await imports.get(id);
  const files = record ? [record] : await imports.listBatch(id);
  if (files.length === 0 || files.some((file) => file.owner.userId !== user.userId)) throw new NotFound('No import with that id.');
  return files;
}

async function retryFailedExecution(
  deps: RetryDeps,
  executionArn: string,
  workflows: readonly WorkflowName[],
): Promise<{ executionArn: string }> {
  const original = await deps.executions.describe(executionArn);
  const workflow = original && workflowOf(original.input);
  if (!original || !workflow || !workflows.includes(workflow)) throw new NotFound('No execution with that ARN.');
  if (!RETRYABLE.has(original.status)) throw new Conflict(`That execution is ${original.status}: only a failed execution can be retried.`);

  const { prefix, name } = splitExecutionArn(original.executionArn);
  const retryName = retryNameOf(name);
  const retryArn = `${prefix}${retryName}`;
  // Already retried: the same answer, and nothing is reset or started again.
  if (await deps.executions.describe(retryArn)) return { executionArn: retryArn };

  const started =
    workflow === 'export' ? await startExportRetry(deps, original, retryName) : await startImportRetry(deps, original, retryName);
  await deps.audit.record(retriedEntry(original, started, deps.clock.now()));
  return { executionArn: started.executionArn };
}

interface StartedRetry {
  executionArn: string;
  /** The original's audit fields, for its RETRIED entry. */
  entry: Pick<AuditEntry, 'kind' | 'userId' | 'username' | 'delivery' | 'searchCriteria' | 'requestedAt'> & { id: string };
}

async function startExportRetry(deps: RetryDeps, original: ExecutionDescription, retryName: string): Promise<StartedRetry> {
  const job = asExportJob(original.input) as ExportJob;
  // A new export id (= the execution's name, as for every export): the retry's report and audit entries are its own.
  const retry: ExportJob = { ...job, exportId: retryName, retryOf: original.executionArn };
  const executionArn = await startOnce(deps.executions, 'export', retryName, retry, original.executionArn);
  return {
    executionArn,
    entry: { ...exportAuditEntry(job, 'RETRIED', deps.clock.now()), id: `export:${job.exportId}:RETRIED` },
  };
}

async function startImportRetry(deps: RetryDeps, original: ExecutionDescription, retryName: string): Promise<StartedRetry> {
  const job = original.input as ImportJob;
  const records = (await mapLimit(job.importIds, 16, (id) => deps.imports.get(id))).filter(
    (record): record is ImportRecord => record !== undefined,
  );
  // FAILED files, and any the ended execution left unfinished; quarantined, rejected and imported files stay as they are.
  const toRetry = records.filter((record) => record.status === 'FAILED' || !isFinal(record));
  if (toRetry.length === 0)
    throw new Conflict('Every file of that import ended (imported, rejected or quarantined): there is nothing to retry.');
  const at = deps.clock.now();
  await mapLimit(toRetry, 16, (record) => deps.imports.update(record.importId, { status: 'RUNNING', checks: { ...PENDING_CHECKS } }, at));
  const retry: ImportJob = { ...job, importIds: toRetry.map((record) => record.importId), retryOf: original.executionArn };
  const executionArn = await startOnce(deps.executions, 'import', retryName, retry, original.executionArn);
  const [first] = records;
  const id = job.batchId ?? job.importIds[0] ?? '';
  return {
    executionArn,
    entry: {
      id: `import:${id}:RETRIED`,
      kind: 'import',
      userId: first?.owner.userId ?? job.requestedBy.userId,
      username: first?.owner.username ?? job.requestedBy.username,
      delivery: job.delivery,
      requestedAt: job.requestedAt,
    },
  };
}

/** Two Retries at once: the second start finds the name taken and answers the same execution. */
async function startOnce(
  executions: ExecutionService,
  workflow: WorkflowName,
  name: string,
  input: unknown,
  originalArn: string,
): Promise<string> {
  try {
    return (await executions.start(workflow, name, input)).executionArn;
  } catch (error) {
    if (error instanceof ExecutionAlreadyStarted) return `${splitExecutionArn(originalArn).prefix}${name}`;
    throw error;
  }
}

/** On the original: who retried it, as which execution. One per original (the id), so a repeat rewrites it. */
function retriedEntry(original: ExecutionDescription, started: StartedRetry, at: Date): AuditEntry {
  return {
    ...started.entry,
    executionArn: original.executionArn,
    outcome: 'RETRIED',
    retriedBy: started.executionArn,
    recordedAt: at.toISOString(),
  };
}
