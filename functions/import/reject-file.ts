import { rejectFile, type RejectInput } from '../../core/import/tasks';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { task } from '../task';

/** "Reject file" and "Reject changed file": wrong format, checksum mismatch or a changed upload; REJECTED with the reason. */
export const makeHandler = (deps: Parameters<typeof rejectFile>[0]) =>
  task(
    'Reject file',
    (event: RejectInput) => rejectFile(deps, event),
    (_, event) => ('checks' in event ? { format: event.checks.format.format, checksum: event.checks.checksum.verdict } : { changed: event.failure.Error }),
  );

export const handler = wired({ imports, objects, audit, clock }, makeHandler);
