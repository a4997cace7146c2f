import type { ExportJob } from '../../core/export/job';
import { generateCsvReport } from '../../core/export/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { exportProgress } from '../ports/export-progress';
import { objects } from '../ports/objects';
import { search } from '../ports/search';
import { task } from '../task';

/** "Generate CSV report": the state is the job; the report becomes `$.report` (or the Parallel branch's result). */
export const makeHandler = (deps: Parameters<typeof generateCsvReport>[0]) =>
  task(
    'Generate CSV report',
    (job: ExportJob, log) => {
      // Only the ports it reads: spreading the deps would build every port the local stack has.
      const ports = { search: deps.search, objects: deps.objects, clock: deps.clock, exportProgress: deps.exportProgress, exportJobs: deps.exportJobs };
      return generateCsvReport({ log, config: deps.config, ...ports }, job);
    },
    (report) => ({ rowCount: report.rowCount, bytes: report.bytes }),
  );

export const handler = wired({ search, objects, clock, exportProgress, exportJobs }, makeHandler);
