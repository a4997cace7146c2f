import { getExport } from '../../core/export/jobs';
import { wired, type Deps } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { exportProgress } from '../ports/export-progress';
import { objects } from '../ports/objects';
import { log } from '../log';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';

/** `GET /api/exports/{exportId}`: the job, with a freshly signed link while its file exists. */
export const makeHandler = (deps: Pick<Deps, 'exportJobs' | 'exportProgress' | 'objects' | 'audit' | 'clock'>) =>
  route(async (event: HttpEvent) => {
    const ports = { exportJobs: deps.exportJobs, exportProgress: deps.exportProgress, objects: deps.objects, audit: deps.audit, clock: deps.clock };
    return json(200, await getExport({ log, ...ports }, callerOf(event), pathParameter(event, 'exportId')));
  });

export const handler = wired({ exportJobs, exportProgress, objects, audit, clock }, makeHandler);
