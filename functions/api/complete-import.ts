import { completeImport } from '../../core/import/use-cases';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { executions } from '../ports/executions';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { callerOf, json, jsonBody, pathParameter, route, type HttpEvent } from '../http';

/** `POST /api/imports/{importId}/complete` (and `/api/resources/{resourceId}/complete`) `{parts?}`: idempotent; 202 once the import is on its way. */
export const makeHandler = (deps: Parameters<typeof completeImport>[0]) =>
  route(async (event: HttpEvent) => {
    const result = await completeImport(
      deps,
      callerOf(event),
      pathParameter(event, event.pathParameters?.resourceId ? 'resourceId' : 'importId'),
      jsonBody(event),
    );
    return json(202, result);
  });

export const handler = wired({ imports, executions, clock, objects }, makeHandler);
