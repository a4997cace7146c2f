import { recordExportRequest } from '../../core/export';
import type { ExportJob } from '../../core/model';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Record export request". The state is the job; `{ executionArn, job }` is accepted too, for when the ASL passes the ARN. */
export type RecordExportRequestEvent = ExportJob | { executionArn: string; job: ExportJob };

export const makeHandler = (deps: Parameters<typeof recordExportRequest>[0]) => async (event: RecordExportRequestEvent) => {
  const [job, executionArn] = 'job' in event ? [event.job, event.executionArn] : [event, undefined];
  await recordExportRequest(deps, job, executionArn);
  log.info({ exportId: job.exportId, executionArn, userId: job.requestedBy.userId, delivery: job.type }, 'export requested');
};

export const handler = async (event: RecordExportRequestEvent, _context?: unknown) => makeHandler(await getDeps())(event);
