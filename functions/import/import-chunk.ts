import { importChunk } from '../../core/import/chunk-tasks';
import type { ImportChunk } from '../../core/import/chunks';
import type { FileTaskInput } from '../../core/import/job';
import type { RowFormat } from '../../core/import/rows';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { search } from '../ports/search';
import { task } from '../task';

type ChunkEvent = FileTaskInput & { format: RowFormat; chunk: ImportChunk; headerBytes: number };

/** "Import one chunk" (of "Import each chunk"): its rows staged under its chunk, its part of the error report. */
export const makeHandler = (deps: Parameters<typeof importChunk>[0]) =>
  task(
    'Import one chunk',
    (event: ChunkEvent) => importChunk(deps, event),
    (outcome) => ({ ...outcome }),
  );

export const handler = wired({ imports, objects, search, audit, clock }, makeHandler);
