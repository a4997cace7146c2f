import { listExports } from '../../core/export/jobs';
import { parseInput } from '../../core/validation';
import { wired, type Deps } from '../composition';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { exportProgress } from '../ports/export-progress';
import { log } from '../log';
import { callerOf, json, route, type HttpEvent } from '../http';
import { JobPageSchema } from './job-page';

/** `GET /api/exports?cursor=&limit=`: the caller's exports and those shared with them, newest first. */
export const makeHandler = (deps: Pick<Deps, 'exportJobs' | 'exportProgress' | 'clock'>) =>
  route(async (event: HttpEvent) => {
    const page = parseInput(JobPageSchema, event.queryStringParameters ?? {});
    const ports = { exportJobs: deps.exportJobs, exportProgress: deps.exportProgress, clock: deps.clock };
    return json(200, await listExports({ log, ...ports }, callerOf(event), page));
  });

export const handler = wired({ exportJobs, exportProgress, clock }, makeHandler);
