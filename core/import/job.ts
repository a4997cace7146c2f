import { isAdmin, type DeliveryType, type User } from '../model';
import type { ImportConfig } from './config';
import type { ImportOwner, ImportRecord } from './records';

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
  /** Set on a retry: the failed execution whose failed files this one runs again. */
  retryOf?: string;
}

/** What each per-file task of the Map gets (its ItemSelector). */
export interface FileTaskInput {
  importId: string;
  executionArn: string;
}

export const ownerOf = (user: User): ImportOwner => ({
  userId: user.userId,
  username: user.username,
  email: user.email,
  ...(isAdmin(user) ? { admin: true } : {}),
});

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
