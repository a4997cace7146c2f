import type { WriteSliceInput } from '../../core/export/slices';
import { writeExportSlice } from '../../core/export/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { exportProgress } from '../ports/export-progress';
import { objects } from '../ports/objects';
import { search } from '../ports/search';
import { task } from '../task';

/** "Write one slice" (inside the Map "Write each slice"): `{ job, slice }`; what it wrote is the Map's item result. */
export const makeHandler = (deps: Omit<Parameters<typeof writeExportSlice>[0], 'log'>) =>
  task(
    'Write one slice',
    (input: WriteSliceInput, log) => {
      const ports = { search: deps.search, objects: deps.objects, exportProgress: deps.exportProgress, exportJobs: deps.exportJobs, clock: deps.clock };
      return writeExportSlice({ log, ...ports }, input);
    },
    (written) => ({ slice: written.slice, rows: written.rows, parts: written.parts, bytes: written.bytes }),
  );

export const handler = wired({ search, objects, exportProgress, exportJobs, clock }, makeHandler);
