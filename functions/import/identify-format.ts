import type { FileTaskInput } from '../../core/import/job';
import { identifyImportFormat } from '../../core/import/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { task } from '../task';

/** "Identify format": CSV, NDJSON or unknown, from the first bytes, never from the name or claimed type. */
export const makeHandler = (deps: Parameters<typeof identifyImportFormat>[0]) =>
  task(
    'Identify format',
    (event: FileTaskInput) => identifyImportFormat(deps, event),
    (verdict) => ({ ...verdict }),
  );

export const handler = wired({ imports, objects, clock }, makeHandler);
