import { commitImportChunks } from '../../core/import/chunk-tasks';
import type { FileTaskInput } from '../../core/import/job';
import type { RowFormat } from '../../core/import/rows';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { search } from '../ports/search';
import { task } from '../task';

/** "Assemble the error report and commit": the chunks' parts joined, their counts added, one commit. */
export const makeHandler = (deps: Parameters<typeof commitImportChunks>[0]) =>
  task(
    'Assemble the error report and commit',
    (event: FileTaskInput & { format: RowFormat; chunkCount: number }) => commitImportChunks(deps, event),
    (outcome) => ({ ...outcome }),
  );

export const handler = wired({ imports, objects, search, audit, clock }, makeHandler);
