import { Forbidden } from './errors';
import { isAdmin, type User } from './model';
import type { AuditEntry, AuditLog, ExecutionDescription, ExecutionService, ExecutionSummary, WorkflowName } from './ports';

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
