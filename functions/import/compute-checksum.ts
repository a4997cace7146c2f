import type { FileTaskInput } from '../../core/import/shared';
import { computeChecksum } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Compute checksum": SHA-256 of the upload, compared with the browser's hash and the declared size. */
export const makeHandler = (deps: Parameters<typeof computeChecksum>[0]) => async (event: FileTaskInput) => {
  const startedAt = Date.now();
  const outcome = await computeChecksum(deps, event);
  log.info(
    {
      importId: event.importId,
      executionArn: event.executionArn,
      verdict: outcome.verdict,
      bytes: outcome.bytes,
      ms: Date.now() - startedAt,
    },
    'checksum computed',
  );
  return outcome;
};

export const handler = async (event: FileTaskInput, _context?: unknown) => makeHandler(await getDeps())(event);
