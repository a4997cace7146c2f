import { listImports } from '../../core/import/jobs';
import { parseInput } from '../../core/validation';
import { wired } from '../composition';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { callerOf, json, route, type HttpEvent } from '../http';
import { JobPageSchema } from './job-page';

/** `GET /api/imports?cursor=&limit=`: the caller's imports, newest first. */
export const makeHandler = (deps: Parameters<typeof listImports>[0]) =>
  route(async (event: HttpEvent) => {
    const page = parseInput(JobPageSchema, event.queryStringParameters ?? {});
    return json(200, await listImports(deps, callerOf(event), page));
  });

export const handler = wired({ imports, objects }, makeHandler);
