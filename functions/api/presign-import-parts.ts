import { presignImportParts } from '../../core/import/use-cases';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { callerOf, json, jsonBody, pathParameter, route, type HttpEvent } from '../http';

/** `POST /api/imports/{importId}/parts` (and `/api/resources/{resourceId}/parts`) `{partNumbers?}`: fresh part links, to upload in parallel or resume. */
export const makeHandler = (deps: Parameters<typeof presignImportParts>[0]) =>
  route(async (event: HttpEvent) => {
    const parts = await presignImportParts(
      deps,
      callerOf(event),
      pathParameter(event, event.pathParameters?.resourceId ? 'resourceId' : 'importId'),
      jsonBody(event),
    );
    return json(200, parts);
  });

export const handler = wired({ imports, objects }, makeHandler);
