import { planImportChunks } from '../../core/import/chunk-tasks';
import type { FileTaskInput } from '../../core/import/job';
import type { RowFormat } from '../../core/import/rows';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { task } from '../task';

/** "Plan the file's chunks": one chunk for a small file (unread), else byte ranges on row boundaries. */
export const makeHandler = (deps: Parameters<typeof planImportChunks>[0]) =>
  task(
    "Plan the file's chunks",
    (event: FileTaskInput & { format: RowFormat }) => planImportChunks(deps, event),
    (plan) => ({ chunks: plan.count }),
  );

export const handler = wired({ imports, objects }, makeHandler);
