import { releaseImportSlot } from '../../core/import/slot-tasks';
import { wired } from '../composition';
import { importSlots } from '../ports/import-slots';
import { task } from '../task';

/** "Release the processing slot": the file's slot given back however it ended (or an execution's, when it failed whole). */
export const makeHandler = (deps: Parameters<typeof releaseImportSlot>[0]) =>
  task('Release the processing slot', (event: Parameters<typeof releaseImportSlot>[1]) => releaseImportSlot(deps, event));

export const handler = wired({ importSlots }, makeHandler);
