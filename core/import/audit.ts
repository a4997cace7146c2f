import type { AuditEntry, AuditOutcome } from '../ports';
import type { ImportRecord } from './records';

/** One audit entry per import per outcome; the id makes a retried task rewrite rather than duplicate it. */
export function importAuditEntry(
  record: ImportRecord,
  outcome: AuditOutcome,
  at: Date,
  details: { executionArn?: string; rowCount?: number; onBehalfRows?: number; error?: string } = {},
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
    ...(details.onBehalfRows ? { onBehalfRows: details.onBehalfRows } : {}),
    outcome,
    ...(details.error !== undefined ? { error: details.error.slice(0, 1000) } : {}),
    requestedAt: record.createdAt,
    recordedAt: at.toISOString(),
  };
}
