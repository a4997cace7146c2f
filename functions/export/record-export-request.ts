import type { ExportJob } from '../../core/export/job';
import { recordExportRequest } from '../../core/export/tasks';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { task } from '../task';

/** "Record export request": the ASL passes `{ executionArn, job }`. */
export interface RecordExportRequestEvent {
  executionArn: string;
  job: ExportJob;
}

export const makeHandler = (deps: Parameters<typeof recordExportRequest>[0]) =>
  task(
    'Record export request',
    (event: RecordExportRequestEvent) => recordExportRequest(deps, event.job, event.executionArn),
    (_, event) => ({ userId: event.job.requestedBy.userId, delivery: event.job.delivery }),
  );

export const handler = wired({ audit, clock, exportJobs }, makeHandler);
