import type { FileTaskInput } from '../../core/import/job';
import { identifyImportFormat } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

/** "Identify format": CSV, NDJSON or unknown, from the first bytes, never from the name or claimed type. */
export const makeHandler = (deps: Parameters<typeof identifyImportFormat>[0]) =>
  task(
    'Identify format',
    (event: FileTaskInput) => identifyImportFormat(deps, event),
    (verdict) => ({ ...verdict }),
  );

export const handler = async (event: FileTaskInput, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
