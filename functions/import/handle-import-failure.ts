import type { ImportJob } from '../../core/import/shared';
import { handleImportFailure, type ImportFailure } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { log } from '../log';

/** One file (`importId`, from inside the Map) or the whole execution (`job`). */
type FailureEvent = { executionArn: string; failure: ImportFailure; importId?: string; job?: ImportJob };

/** "Record file failure" and "Handle import failure": FAILED, audited, admins alerted (and the user, for the whole execution). */
export const makeHandler = (deps: Parameters<typeof handleImportFailure>[0]) => async (event: FailureEvent) => {
  log.error(
    {
      executionArn: event.executionArn,
      importId: event.importId,
      batchId: event.job?.batchId,
      error: event.failure.Error,
      cause: event.failure.Cause,
    },
    'import failed',
  );
  await handleImportFailure(deps, event);
};

export const handler = async (event: FailureEvent, _context?: unknown) => makeHandler(await getDeps())(event);
