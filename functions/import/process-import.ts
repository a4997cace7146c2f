import type { RowFormat } from '../../core/import/rows';
import type { FileTaskInput } from '../../core/import/shared';
import { processImport } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { log } from '../log';

type ProcessEvent = FileTaskInput & { format: RowFormat };

/** "Import valid rows": parse, validate, bulk-index, error report, original to the permanent bucket. */
export const makeHandler = (deps: Parameters<typeof processImport>[0]) => async (event: ProcessEvent) => {
  const startedAt = Date.now();
  const outcome = await processImport(deps, event);
  log.info({ executionArn: event.executionArn, ...outcome, ms: Date.now() - startedAt }, 'import processed');
  return outcome;
};

export const handler = async (event: ProcessEvent, _context?: unknown) => makeHandler(await getDeps())(event);
