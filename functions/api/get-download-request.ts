import { wired, type Deps } from '../composition';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { exportProgress } from '../ports/export-progress';
import { objects } from '../ports/objects';
import { log } from '../log';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';
import { exportStatus } from '../../core/export/use-cases';

/** The executionArn route, kept for existing clients: answered from the job record, never DescribeExecution. */
export const makeHandler = (deps: Pick<Deps, 'exportJobs' | 'objects' | 'clock' | 'exportProgress'>) =>
  route(async (event: HttpEvent) => {
    const user = callerOf(event);
    // Only the ports it reads: spreading the deps would build every port the local stack has.
    const ports = { exportJobs: deps.exportJobs, objects: deps.objects, clock: deps.clock, exportProgress: deps.exportProgress };
    const status = await exportStatus({ log, ...ports }, user, pathParameter(event, 'executionArn'));
    return json(200, status);
  });

export const handler = wired({ exportJobs, objects, clock, exportProgress }, makeHandler);
