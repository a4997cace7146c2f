import type { FileTaskInput } from '../../core/import/job';
import { keepResource } from '../../core/resource/tasks';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { task } from '../task';

/** "Keep resource": the clean, allowed file to the permanent bucket, with a thumbnail for images. */
export const makeHandler = (deps: Parameters<typeof keepResource>[0]) =>
  task(
    'Keep resource',
    (event: FileTaskInput) => keepResource(deps, event),
    (outcome) => ({ ...outcome }),
  );

export const handler = wired({ imports, objects, audit, clock }, makeHandler);
