import { recordExportSuccess, type ExportSuccessInput } from '../../core/export';
import type { ExportReport } from '../../core/model';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Record export success": audits it; the returned report is the execution's output. */
export const makeHandler =
  (deps: Parameters<typeof recordExportSuccess>[0]) =>
  async (event: ExportSuccessInput): Promise<ExportReport> => {
    const report = await recordExportSuccess(deps, event);
    log.info({ executionArn: event.executionArn, rowCount: report.rowCount }, 'export succeeded');
    return report;
  };

export const handler = async (event: ExportSuccessInput, _context?: unknown) => makeHandler(await getDeps())(event);
