import type { FileTaskInput } from '../../core/import/job';
import { awaitImportMapping } from '../../core/import/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { task } from '../task';

/** "Wait for column mapping" (waitForTaskToken): NEEDS_MAPPING, the token parked on the record for POST …/mapping. */
export const makeHandler = (deps: Parameters<typeof awaitImportMapping>[0]) =>
  task('Wait for column mapping', (event: FileTaskInput & { taskToken: string }) => awaitImportMapping(deps, event));

export const handler = wired({ imports, clock }, makeHandler);
