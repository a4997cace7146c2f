import type { FileTaskInput } from '../../core/import/job';
import { rejectFile, type CheckResults } from '../../core/import/tasks';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { task } from '../task';

type RejectEvent = FileTaskInput & { checks: CheckResults };

/** "Reject file": wrong format or checksum mismatch; REJECTED with the reason. */
export const makeHandler = (deps: Parameters<typeof rejectFile>[0]) =>
  task(
    'Reject file',
    (event: RejectEvent) => rejectFile(deps, event),
    (_, event) => ({ format: event.checks.format.format, checksum: event.checks.checksum.verdict }),
  );

export const handler = wired({ imports, objects, audit, clock }, makeHandler);
