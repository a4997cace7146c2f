import type { FileTaskInput } from '../../core/import/shared';
import { scanForViruses } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Scan for viruses": streams the upload to clamd; infected or clean, or an error (never "clean" unscanned). */
export const makeHandler = (deps: Parameters<typeof scanForViruses>[0]) => async (event: FileTaskInput) => {
  const startedAt = Date.now();
  const verdict = await scanForViruses(deps, event);
  log.info({ importId: event.importId, executionArn: event.executionArn, ...verdict, ms: Date.now() - startedAt }, 'antivirus check done');
  return verdict;
};

export const handler = async (event: FileTaskInput, _context?: unknown) => makeHandler(await getDeps())(event);
