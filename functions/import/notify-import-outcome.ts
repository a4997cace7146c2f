import type { ImportJob } from '../../core/import/job';
import { notifyImportOutcome } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

type NotifyEvent = { executionArn: string; job: ImportJob };

/** "Notify user": once per execution, by the delivery the user chose; the summary decides success. */
export const makeHandler = (deps: Parameters<typeof notifyImportOutcome>[0]) =>
  task(
    'Notify user',
    (event: NotifyEvent) => notifyImportOutcome(deps, event),
    (summary, event) => ({ importIds: event.job.importIds.slice(0, 20), delivery: event.job.delivery, ...summary }),
  );

export const handler = async (event: NotifyEvent, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
