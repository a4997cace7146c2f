import type { PlanSlicesInput } from '../../core/export/slices';
import { planExportSlices } from '../../core/export/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { exportProgress } from '../ports/export-progress';
import { objects } from '../ports/objects';
import { search } from '../ports/search';
import { task } from '../task';

/** "Plan the export's slices": the state is the job with `$.report` asking for slices; the plan becomes `$.slicing`. */
export const makeHandler = (deps: Parameters<typeof planExportSlices>[0]) =>
  task(
    "Plan the export's slices",
    (input: PlanSlicesInput) => planExportSlices(deps, input),
    (slicing) => ({ slices: slicing.slices.length, totalRows: slicing.totalRows, uploadId: slicing.uploadId }),
  );

export const handler = wired({ search, objects, exportProgress, clock }, makeHandler);
