import type { FileTaskInput } from '../../core/import/job';
import { quarantineFile } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

type QuarantineEvent = FileTaskInput & { signature: string };

/** "Quarantine infected file": to the quarantine bucket, out of the upload bucket, admins alerted. */
export const makeHandler = (deps: Parameters<typeof quarantineFile>[0]) =>
  task(
    'Quarantine infected file',
    (event: QuarantineEvent) => quarantineFile(deps, event),
    (outcome, event) => ({ status: outcome.status, signature: event.signature }),
  );

export const handler = async (event: QuarantineEvent, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
