import type { AssembleInput } from '../../core/export/slices';
import { assembleExportFile } from '../../core/export/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { objects } from '../ports/objects';
import { task } from '../task';

/** "Assemble the export file": the job with `$.slicing` (and what each slice wrote); the report becomes `$.report`. */
export const makeHandler = (deps: Parameters<typeof assembleExportFile>[0]) =>
  task(
    'Assemble the export file',
    (input: AssembleInput) => assembleExportFile(deps, input),
    (report) => ({ rowCount: report.rowCount, bytes: report.bytes }),
  );

export const handler = wired({ objects, clock, exportJobs }, makeHandler);
