import { listQuarantine } from '../../core/import/use-cases';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { callerOf, json, route, type HttpEvent } from '../http';

/** `GET /api/admin/quarantine?limit&cursor`: quarantined uploads, newest first; admins only (others 403). */
export const makeHandler = (deps: Parameters<typeof listQuarantine>[0]) =>
  route(async (event: HttpEvent) => {
    const page = await listQuarantine(deps, callerOf(event), event.queryStringParameters ?? {});
    return json(200, page);
  });

export const handler = wired({ imports }, makeHandler);
