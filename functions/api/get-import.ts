import { importStatus } from '../../core/import/use-cases';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';

/** `GET /api/imports/{importId}`: an import's status (or a batch's, by its id); another user's is 404. */
export const makeHandler = (deps: Parameters<typeof importStatus>[0]) =>
  route(async (event: HttpEvent) => {
    const status = await importStatus(deps, callerOf(event), pathParameter(event, 'importId'));
    return json(200, status);
  });

export const handler = wired({ imports, objects }, makeHandler);
