import { handleExportFailure, type ExportFailureInput } from '../../core/export/tasks';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { mailer } from '../ports/mailer';
import { objects } from '../ports/objects';
import { push } from '../ports/push';
import { rendezvous } from '../ports/rendezvous';
import { task } from '../task';

/** "Handle export failure", the Catch of every task: abort a sliced export's upload, audit, tell the user, alert the admins. */
export const makeHandler = (deps: Parameters<typeof handleExportFailure>[0]) =>
  task('Handle export failure', async (event: ExportFailureInput, log) => {
    log.error({ error: event.failure.Error, cause: event.failure.Cause }, 'export failed');
    await handleExportFailure(deps, event);
  });

export const handler = wired({ audit, clock, mailer, push, rendezvous, exportJobs, objects }, makeHandler);
