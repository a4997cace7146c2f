import type { FileTaskInput } from '../../core/import/job';
import { scanForViruses } from '../../core/import/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { scanner } from '../ports/scanner';
import { task } from '../task';

/** "Scan for viruses": streams the upload to clamd; infected or clean, or an error (never "clean" unscanned). */
export const makeHandler = (deps: Parameters<typeof scanForViruses>[0]) =>
  task(
    'Scan for viruses',
    (event: FileTaskInput) => scanForViruses(deps, event),
    (verdict) => ({ ...verdict }),
  );

export const handler = wired({ imports, objects, scanner, clock }, makeHandler);
