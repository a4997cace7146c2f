import type { AdminJobView, JobKind, JobPage } from './contract';
import { Forbidden, InvalidInput } from './errors';
import { exportJobView } from './export/jobs';
import { EXPORT_JOB_STATUSES } from './export/records';
import { listImports } from './import/jobs';
import { isAdmin, type User } from './model';
import type {
  AuditEntry,
  AuditLog,
  Clock,
  ExecutionDescription,
  ExecutionService,
  ExecutionSummary,
  ExportRecords,
  ImportRecords,
  ObjectStore,
  UserDirectory,
  WorkflowName,
} from './ports';

/** What only members of the admin group may see and do. */
export function requireAdmin(user: User): void {
  if (!isAdmin(user)) throw new Forbidden('This page is for administrators.');
}

export async function auditLog(
  deps: { audit: AuditLog },
  user: User,
  page: { limit: number; cursor?: string },
): Promise<{ entries: AuditEntry[]; nextCursor?: string }> {
  requireAdmin(user);
  return deps.audit.list(page);
}

const WORKFLOWS: WorkflowName[] = ['export', 'import'];

/** Executions of every workflow with a status, newest first. */
export async function executionsWithStatus(
  deps: { executions: ExecutionService },
  user: User,
  status: ExecutionDescription['status'],
  limit: number,
): Promise<ExecutionSummary[]> {
  requireAdmin(user);
  const lists = await Promise.all(WORKFLOWS.map((workflow) => deps.executions.list(workflow, status, { limit })));
  return lists
    .flat()
    .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
    .slice(0, limit);
}

/**
 * `GET /api/admin/jobs?user=&status=&kind=`: everyone's exports newest first (file names, sizes, errors),
 * or with kind=import one user's imports (the import records are listed per owner).
 */
export async function adminJobs(
  deps: { exportJobs: ExportRecords; imports: ImportRecords; users: UserDirectory; objects: ObjectStore; clock: Clock; config: { permanentBucket: string } },
  user: User,
  query: { kind: JobKind; user?: string; status?: string; limit: number; cursor?: string },
): Promise<JobPage<AdminJobView>> {
  requireAdmin(user);
  if (query.kind === 'import') {
    if (!query.user) throw new InvalidInput('Imports are listed per user: name one with user=.', 'user');
    const [owner] = await deps.users.findByUsernames([query.user]);
    if (!owner) return { items: [] };
    const page = await listImports(deps, { ...owner, groups: [] }, query);
    return { ...page, items: page.items.filter((item) => !query.status || item.status === query.status) };
  }
  const status = EXPORT_JOB_STATUSES.find((candidate) => candidate === query.status);
  if (query.status && !status) throw new InvalidInput(`status must be one of ${EXPORT_JOB_STATUSES.join(', ')}.`, 'status');
  const { records, nextCursor } = await deps.exportJobs.listAll({
    limit: query.limit,
    ...(query.cursor ? { cursor: query.cursor } : {}),
    ...(status ? { status } : {}),
    ...(query.user ? { ownerUsername: query.user } : {}),
  });
  const now = deps.clock.now();
  return { items: records.map((record) => exportJobView(record, user, now)), ...(nextCursor ? { cursor: nextCursor } : {}) };
}
