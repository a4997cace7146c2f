import type { FileTaskInput } from '../../core/import/shared';
import { identifyImportFormat } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Identify format": CSV, NDJSON or unknown, from the first bytes, never from the name or claimed type. */
export const makeHandler = (deps: Parameters<typeof identifyImportFormat>[0]) => async (event: FileTaskInput) => {
  const verdict = await identifyImportFormat(deps, event);
  log.info({ importId: event.importId, executionArn: event.executionArn, ...verdict }, 'format identified');
  return verdict;
};

export const handler = async (event: FileTaskInput, _context?: unknown) => makeHandler(await getDeps())(event);
