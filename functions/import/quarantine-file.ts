import type { FileTaskInput } from '../../core/import/shared';
import { quarantineFile } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { log } from '../log';

type QuarantineEvent = FileTaskInput & { signature: string };

/** "Quarantine infected file": to the quarantine bucket, out of the upload bucket, admins alerted. */
export const makeHandler = (deps: Parameters<typeof quarantineFile>[0]) => async (event: QuarantineEvent) => {
  const outcome = await quarantineFile(deps, event);
  log.warn({ importId: event.importId, executionArn: event.executionArn, signature: event.signature }, 'infected upload quarantined');
  return outcome;
};

export const handler = async (event: QuarantineEvent, _context?: unknown) => makeHandler(await getDeps())(event);
