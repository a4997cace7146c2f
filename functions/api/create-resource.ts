import { createResources } from '../../core/resource/use-cases';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { ids } from '../ports/ids';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { callerOf, json, jsonBody, route, type HttpEvent } from '../http';

/** `POST /api/resources`: one file or `{files:[…]}`; 201 with where and how to upload each. */
export const makeHandler = (deps: Parameters<typeof createResources>[0]) =>
  route(async (event: HttpEvent) => json(201, await createResources(deps, callerOf(event), jsonBody(event))));

export const handler = wired({ imports, objects, audit, ids, clock }, makeHandler);
