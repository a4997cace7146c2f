import type { ChecksumProgress } from '../../core/import/checksum';
import type { FileTaskInput } from '../../core/import/job';
import { computeChecksum } from '../../core/import/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { task } from '../task';

/**
 * "Compute checksum" and "Checksum more of the file" (`progress`): SHA-256 of the upload, at most CHECKSUM_STEP_BYTES
 * read per invocation, compared with the browser's hash and the declared size.
 */
export const makeHandler = (deps: Parameters<typeof computeChecksum>[0]) =>
  task(
    'Compute checksum',
    (event: FileTaskInput & { progress?: ChecksumProgress }) => computeChecksum(deps, event),
    (outcome) => ('progress' in outcome ? { hashedBytes: outcome.progress.offset } : { verdict: outcome.verdict, bytes: outcome.bytes }),
  );

export const handler = wired({ imports, objects, clock }, makeHandler);
