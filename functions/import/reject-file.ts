import type { FileTaskInput } from '../../core/import/job';
import { rejectFile, type CheckResults } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

type RejectEvent = FileTaskInput & { checks: CheckResults };

/** "Reject file": wrong format or checksum mismatch; REJECTED with the reason. */
export const makeHandler = (deps: Parameters<typeof rejectFile>[0]) =>
  task(
    'Reject file',
    (event: RejectEvent) => rejectFile(deps, event),
    (_, event) => ({ format: event.checks.format.format, checksum: event.checks.checksum.verdict }),
  );

export const handler = async (event: RejectEvent, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
