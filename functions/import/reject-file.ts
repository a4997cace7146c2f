import type { FileTaskInput } from '../../core/import/shared';
import { rejectFile, type CheckResults } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { log } from '../log';

type RejectEvent = FileTaskInput & { checks: CheckResults };

/** "Reject file": wrong format or checksum mismatch; REJECTED with the reason. */
export const makeHandler = (deps: Parameters<typeof rejectFile>[0]) => async (event: RejectEvent) => {
  const outcome = await rejectFile(deps, event);
  log.info(
    {
      importId: event.importId,
      executionArn: event.executionArn,
      format: event.checks.format.format,
      checksum: event.checks.checksum.verdict,
    },
    'upload rejected',
  );
  return outcome;
};

export const handler = async (event: RejectEvent, _context?: unknown) => makeHandler(await getDeps())(event);
