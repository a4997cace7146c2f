import type { ImportJob } from '../../core/import/job';
import { handleImportFailure } from '../../core/import/tasks';
import type { WorkflowFailure } from '../../core/workflow-failure';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { mailer } from '../ports/mailer';
import { objects } from '../ports/objects';
import { push } from '../ports/push';
import { rendezvous } from '../ports/rendezvous';
import { search } from '../ports/search';
import { task } from '../task';

/** One file (`importId`, from inside the Map) or the whole execution (`job`). */
type FailureEvent = { executionArn: string; failure: WorkflowFailure; importId?: string; job?: ImportJob };

/** "Record file failure" and "Handle import failure": FAILED, staged rows discarded, audited, admins alerted (and the user, for the whole execution). */
export const makeHandler = (deps: Parameters<typeof handleImportFailure>[0]) =>
  task('Handle import failure', async (event: FailureEvent, log) => {
    log.error({ error: event.failure.Error, cause: event.failure.Cause }, 'import failed');
    await handleImportFailure(deps, event);
  });

export const handler = wired({ imports, objects, search, mailer, push, rendezvous, audit, clock }, makeHandler);
