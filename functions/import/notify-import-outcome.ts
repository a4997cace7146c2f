import type { ImportJob } from '../../core/import/job';
import { notifyImportOutcome } from '../../core/import/tasks';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { mailer } from '../ports/mailer';
import { objects } from '../ports/objects';
import { push } from '../ports/push';
import { rendezvous } from '../ports/rendezvous';
import { task } from '../task';

type NotifyEvent = { executionArn: string; job: ImportJob };

/** "Notify user": once per execution, by the delivery the user chose; the summary decides success. */
export const makeHandler = (deps: Parameters<typeof notifyImportOutcome>[0]) =>
  task(
    'Notify user',
    (event: NotifyEvent) => notifyImportOutcome(deps, event),
    (summary, event) => ({ importIds: event.job.importIds.slice(0, 20), delivery: event.job.delivery, ...summary }),
  );

export const handler = wired({ imports, objects, mailer, push, rendezvous }, makeHandler);
