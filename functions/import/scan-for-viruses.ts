import type { FileTaskInput } from '../../core/import/job';
import { scanForViruses } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

/** "Scan for viruses": streams the upload to clamd; infected or clean, or an error (never "clean" unscanned). */
export const makeHandler = (deps: Parameters<typeof scanForViruses>[0]) =>
  task(
    'Scan for viruses',
    (event: FileTaskInput) => scanForViruses(deps, event),
    (verdict) => ({ ...verdict }),
  );

export const handler = async (event: FileTaskInput, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
