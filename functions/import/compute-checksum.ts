import type { FileTaskInput } from '../../core/import/job';
import { computeChecksum } from '../../core/import/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { task } from '../task';

/** "Compute checksum": SHA-256 of the upload, compared with the browser's hash and the declared size. */
export const makeHandler = (deps: Parameters<typeof computeChecksum>[0]) =>
  task(
    'Compute checksum',
    (event: FileTaskInput) => computeChecksum(deps, event),
    (outcome) => ({ verdict: outcome.verdict, bytes: outcome.bytes }),
  );

export const handler = wired({ imports, objects, clock }, makeHandler);
