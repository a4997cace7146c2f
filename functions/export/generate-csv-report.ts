import { generateCsvReport } from '../../core/export';
import type { ExportJob, ExportReport } from '../../core/model';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Generate CSV report": the state is the job; the report becomes `$.report` (or the Parallel branch's result). */
export const makeHandler =
  (deps: Parameters<typeof generateCsvReport>[0]) =>
  async (job: ExportJob): Promise<ExportReport> => {
    const startedAt = Date.now();
    const report = await generateCsvReport({ log, ...deps }, job);
    log.info({ exportId: job.exportId, rowCount: report.rowCount, bytes: report.bytes, ms: Date.now() - startedAt }, 'CSV report generated');
    return report;
  };

export const handler = async (job: ExportJob, _context?: unknown) => makeHandler(await getDeps())(job);
