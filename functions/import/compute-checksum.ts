import type { FileTaskInput } from '../../core/import/job';
import { computeChecksum } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

/** "Compute checksum": SHA-256 of the upload, compared with the browser's hash and the declared size. */
export const makeHandler = (deps: Parameters<typeof computeChecksum>[0]) =>
  task(
    'Compute checksum',
    (event: FileTaskInput) => computeChecksum(deps, event),
    (outcome) => ({ verdict: outcome.verdict, bytes: outcome.bytes }),
  );

export const handler = async (event: FileTaskInput, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
