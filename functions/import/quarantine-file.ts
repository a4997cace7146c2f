import type { FileTaskInput } from '../../core/import/job';
import { quarantineFile } from '../../core/import/tasks';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { mailer } from '../ports/mailer';
import { objects } from '../ports/objects';
import { task } from '../task';

type QuarantineEvent = FileTaskInput & { signature: string };

/** "Quarantine infected file": to the quarantine bucket, out of the upload bucket, admins alerted. */
export const makeHandler = (deps: Parameters<typeof quarantineFile>[0]) =>
  task(
    'Quarantine infected file',
    (event: QuarantineEvent) => quarantineFile(deps, event),
    (outcome, event) => ({ status: outcome.status, signature: event.signature }),
  );

export const handler = wired({ imports, objects, audit, mailer, clock }, makeHandler);
