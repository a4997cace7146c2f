import { recordExportSuccess, type ExportSuccessInput } from '../../core/export/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

/** "Record export success": audits it; the returned report is the execution's output. */
export const makeHandler = (deps: Parameters<typeof recordExportSuccess>[0]) =>
  task(
    'Record export success',
    (event: ExportSuccessInput) => recordExportSuccess(deps, event),
    (report) => ({ rowCount: report.rowCount }),
  );

export const handler = async (event: ExportSuccessInput, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
