import { listResources } from '../../core/resource/use-cases';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { callerOf, json, route, type HttpEvent } from '../http';

/** `GET /api/resources?limit&cursor`: the caller's resources, newest first, with fresh download links. */
export const makeHandler = (deps: Parameters<typeof listResources>[0]) =>
  route(async (event: HttpEvent) => json(200, await listResources(deps, callerOf(event), event.queryStringParameters ?? {})));

export const handler = wired({ imports, objects }, makeHandler);
