import type { ExportJob } from '../../core/export/job';
import { generateCsvReport } from '../../core/export/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

/** "Generate CSV report": the state is the job; the report becomes `$.report` (or the Parallel branch's result). */
export const makeHandler = (deps: Parameters<typeof generateCsvReport>[0]) =>
  task(
    'Generate CSV report',
    (job: ExportJob, log) => generateCsvReport({ log, ...deps }, job),
    (report) => ({ rowCount: report.rowCount, bytes: report.bytes }),
  );

export const handler = async (job: ExportJob, invocation?: TaskInvocation) => makeHandler(await getDeps())(job, invocation);
