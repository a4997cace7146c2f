import type { FileTaskInput } from '../../core/import/job';
import type { RowFormat } from '../../core/import/rows';
import { processImport } from '../../core/import/tasks';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { search } from '../ports/search';
import { task } from '../task';

type ProcessEvent = FileTaskInput & { format: RowFormat };

/** "Import valid rows": parse, validate, stage, error report, commit, original to the permanent bucket. */
export const makeHandler = (deps: Parameters<typeof processImport>[0]) =>
  task(
    'Import valid rows',
    (event: ProcessEvent) => processImport(deps, event),
    (outcome) => ({ ...outcome }),
  );

export const handler = wired({ imports, objects, search, audit, clock }, makeHandler);
