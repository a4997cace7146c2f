import { handleExportFailure, type ExportFailureInput } from '../../core/export/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

/** "Handle export failure", the Catch of every task: audit, tell the user, alert the admins. */
export const makeHandler = (deps: Parameters<typeof handleExportFailure>[0]) =>
  task('Handle export failure', async (event: ExportFailureInput, log) => {
    log.error({ error: event.failure.Error, cause: event.failure.Cause }, 'export failed');
    await handleExportFailure(deps, event);
  });

export const handler = async (event: ExportFailureInput, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
