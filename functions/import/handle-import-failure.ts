import type { ImportJob } from '../../core/import/job';
import { handleImportFailure } from '../../core/import/tasks';
import type { WorkflowFailure } from '../../core/workflow-failure';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

/** One file (`importId`, from inside the Map) or the whole execution (`job`). */
type FailureEvent = { executionArn: string; failure: WorkflowFailure; importId?: string; job?: ImportJob };

/** "Record file failure" and "Handle import failure": FAILED, audited, admins alerted (and the user, for the whole execution). */
export const makeHandler = (deps: Parameters<typeof handleImportFailure>[0]) =>
  task('Handle import failure', async (event: FailureEvent, log) => {
    log.error({ error: event.failure.Error, cause: event.failure.Cause }, 'import failed');
    await handleImportFailure(deps, event);
  });

export const handler = async (event: FailureEvent, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
