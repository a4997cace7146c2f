import type { ImportJobView, JobPage } from '../contract';
import type { User } from '../model';
import type { ImportRecords, ObjectStore } from '../ports';
import type { ImportConfig } from './config';
import { statusView } from './use-cases';

/**
 * Import jobs are a view over the import records (core/import/records.ts), not a second copy: the
 * record already carries who, what file, status, checks, rows, times and the executionArn, and a copy
 * written beside it could disagree with it.
 */
export async function listImports(
  deps: { imports: ImportRecords; objects: ObjectStore; config: Pick<ImportConfig, 'permanentBucket'> },
  user: User,
  page: { limit: number; cursor?: string },
): Promise<JobPage<ImportJobView>> {
  const { records, nextCursor } = await deps.imports.listOwnedBy(user.userId, page);
  const items = await Promise.all(
    records.map(async (record) => ({ ...(await statusView(deps, record)), kind: 'import' as const, owner: record.owner.username, size: record.size })),
  );
  return { items, ...(nextCursor ? { cursor: nextCursor } : {}) };
}
