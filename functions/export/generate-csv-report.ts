import type { ExportJob } from '../../core/export/job';
import { isSliceRequest } from '../../core/export/slices';
import { generateReportOrSlice } from '../../core/export/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { exportProgress } from '../ports/export-progress';
import { objects } from '../ports/objects';
import { search } from '../ports/search';
import { task } from '../task';

/**
 * "Generate CSV report": the state is the job; the report (or, above EXPORT_SLICE_ROWS, the request to slice
 * the export) becomes `$.report`.
 */
export const makeHandler = (deps: Parameters<typeof generateReportOrSlice>[0]) =>
  task(
    'Generate CSV report',
    (job: ExportJob, log) => {
      // Only the ports it reads: spreading the deps would build every port the local stack has.
      const ports = { search: deps.search, objects: deps.objects, clock: deps.clock, exportProgress: deps.exportProgress, exportJobs: deps.exportJobs };
      return generateReportOrSlice({ log, config: deps.config, ...ports }, job);
    },
    (report) => (isSliceRequest(report) ? { sliced: true, totalRows: report.totalRows } : { rowCount: report.rowCount, bytes: report.bytes }),
  );

export const handler = wired({ search, objects, clock, exportProgress, exportJobs }, makeHandler);
