import type { AuditEntry, AuditOutcome } from '../ports';
import type { ExportJob } from './job';

/**
 * The audit trail is append-only: one entry per export per outcome. The id is derived from the export
 * and the outcome, so a retried task writes the same entry again instead of a duplicate.
 */
export const exportAuditId = (exportId: string, outcome: AuditOutcome): string => `export:${exportId}:${outcome}`;

export interface AuditDetails {
  executionArn?: string;
  rowCount?: number;
  error?: string;
}

export function exportAuditEntry(job: ExportJob, outcome: AuditOutcome, recordedAt: Date, details: AuditDetails = {}): AuditEntry {
  return {
    id: exportAuditId(job.exportId, outcome),
    kind: 'export',
    ...(details.executionArn ? { executionArn: details.executionArn } : {}),
    userId: job.requestedBy.userId,
    username: job.requestedBy.username,
    delivery: job.delivery,
    searchCriteria: job.searchCriteria,
    ...(details.rowCount !== undefined ? { rowCount: details.rowCount } : {}),
    outcome,
    ...(details.error !== undefined ? { error: details.error } : {}),
    ...(job.retryOf ? { retryOf: job.retryOf } : {}),
    requestedAt: job.requestedAt,
    recordedAt: recordedAt.toISOString(),
  };
}
