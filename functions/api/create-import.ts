import { createImport } from '../../core/import/use-cases';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { ids } from '../ports/ids';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { callerOf, json, jsonBody, route, type HttpEvent } from '../http';

/** `POST /api/imports`: one file or `{files:[…]}`; 201 with where and how to upload each. */
export const makeHandler = (deps: Parameters<typeof createImport>[0]) =>
  route(async (event: HttpEvent) => {
    const created = await createImport(deps, callerOf(event), jsonBody(event));
    return json(201, created);
  });

export const handler = wired({ imports, objects, audit, ids, clock }, makeHandler);
