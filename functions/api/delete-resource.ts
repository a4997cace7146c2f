import { deleteResource } from '../../core/resource/use-cases';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { callerOf, pathParameter, route, type HttpEvent } from '../http';

/** `DELETE /api/resources/{resourceId}`: 204; another user's is 404, a quarantined one 409. */
export const makeHandler = (deps: Parameters<typeof deleteResource>[0]) =>
  route(async (event: HttpEvent) => {
    await deleteResource(deps, callerOf(event), pathParameter(event, 'resourceId'));
    return { statusCode: 204, headers: {}, body: '' };
  });

export const handler = wired({ imports, objects }, makeHandler);
