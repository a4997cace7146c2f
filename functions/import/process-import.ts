import type { FileTaskInput } from '../../core/import/job';
import type { RowFormat } from '../../core/import/rows';
import { processImport } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

type ProcessEvent = FileTaskInput & { format: RowFormat };

/** "Import valid rows": parse, validate, bulk-index, error report, original to the permanent bucket. */
export const makeHandler = (deps: Parameters<typeof processImport>[0]) =>
  task(
    'Import valid rows',
    (event: ProcessEvent) => processImport(deps, event),
    (outcome) => ({ ...outcome }),
  );

export const handler = async (event: ProcessEvent, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
