import { planImportChunks } from '../../core/import/chunk-tasks';
import type { FileTaskInput } from '../../core/import/job';
import type { PlanProgress } from '../../core/import/chunks';
import type { RowFormat } from '../../core/import/rows';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { task } from '../task';

/**
 * "Plan the file's chunks" and "Plan more of the file's chunks": one chunk for a small file (unread), else byte ranges
 * on row boundaries, at most IMPORT_PLAN_STEP_BYTES read per invocation (the `progress` goes on to the next).
 */
export const makeHandler = (deps: Parameters<typeof planImportChunks>[0]) =>
  task(
    "Plan the file's chunks",
    (event: FileTaskInput & { format: RowFormat; progress?: PlanProgress }) => planImportChunks(deps, event),
    (plan) => ('progress' in plan ? { plannedBytes: plan.progress.offset } : { chunks: plan.count }),
  );

export const handler = wired({ imports, objects }, makeHandler);
