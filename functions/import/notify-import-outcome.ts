import type { ImportJob } from '../../core/import/shared';
import { notifyImportOutcome } from '../../core/import/tasks';
import { getDeps } from '../composition';
import { log } from '../log';

type NotifyEvent = { executionArn: string; job: ImportJob };

/** "Notify user": once per execution, by the delivery the user chose; the summary decides success. */
export const makeHandler = (deps: Parameters<typeof notifyImportOutcome>[0]) => async (event: NotifyEvent) => {
  const summary = await notifyImportOutcome(deps, event);
  log.info(
    {
      executionArn: event.executionArn,
      batchId: event.job.batchId,
      importIds: event.job.importIds.slice(0, 20),
      delivery: event.job.delivery,
      ...summary,
    },
    'import finished',
  );
  return summary;
};

export const handler = async (event: NotifyEvent, _context?: unknown) => makeHandler(await getDeps())(event);
