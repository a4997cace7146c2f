import { wired, type Deps } from '../composition';
import { clock } from '../ports/clock';
import { executions } from '../ports/executions';
import { exportProgress } from '../ports/export-progress';
import { objects } from '../ports/objects';
import { log } from '../log';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';
import { exportStatus } from '../../core/export/use-cases';

export const makeHandler = (deps: Pick<Deps, 'executions' | 'objects' | 'clock' | 'exportProgress'>) =>
  route(async (event: HttpEvent) => {
    const user = callerOf(event);
    // Only the ports it reads: spreading the deps would build every port the local stack has.
    const ports = { executions: deps.executions, objects: deps.objects, clock: deps.clock, exportProgress: deps.exportProgress };
    const status = await exportStatus({ log, ...ports }, user, pathParameter(event, 'executionArn'));
    return json(200, status);
  });

export const handler = wired({ executions, objects, clock, exportProgress }, makeHandler);
