import { resourceStatus } from '../../core/resource/use-cases';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';

/** `GET /api/resources/{resourceId}`: status, detected type, SHA-256 and fresh links; another user's is 404. */
export const makeHandler = (deps: Parameters<typeof resourceStatus>[0]) =>
  route(async (event: HttpEvent) => json(200, await resourceStatus(deps, callerOf(event), pathParameter(event, 'resourceId'))));

export const handler = wired({ imports, objects }, makeHandler);
