import { handleExportFailure, type ExportFailureInput } from '../../core/export';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Handle export failure", the Catch of every task: audit, tell the user, alert the admins. */
export const makeHandler = (deps: Parameters<typeof handleExportFailure>[0]) => async (event: ExportFailureInput) => {
  log.error({ executionArn: event.executionArn, error: event.failure.Error, cause: event.failure.Cause }, 'export failed');
  await handleExportFailure(deps, event);
};

export const handler = async (event: ExportFailureInput, _context?: unknown) => makeHandler(await getDeps())(event);
