import { recordExportSuccess, type ExportSuccessInput } from '../../core/export/tasks';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { task } from '../task';

/** "Record export success": audits it; the returned report is the execution's output. */
export const makeHandler = (deps: Parameters<typeof recordExportSuccess>[0]) =>
  task(
    'Record export success',
    (event: ExportSuccessInput) => recordExportSuccess(deps, event),
    (report) => ({ rowCount: report.rowCount }),
  );

export const handler = wired({ audit, clock }, makeHandler);
