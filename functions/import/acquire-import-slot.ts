import { acquireImportSlot } from '../../core/import/slot-tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { importSlots } from '../ports/import-slots';
import { task } from '../task';

/** "Wait for a processing slot": the file's turn for the engine's fair share, or SlotBusy (retried by the state). */
export const makeHandler = (deps: Parameters<typeof acquireImportSlot>[0]) =>
  task('Wait for a processing slot', (event: Parameters<typeof acquireImportSlot>[1]) => acquireImportSlot(deps, event));

export const handler = wired({ importSlots, imports, clock }, makeHandler);
