import { submitImportMapping } from '../../core/import/use-cases';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { executions } from '../ports/executions';
import { imports } from '../ports/imports';
import { callerOf, json, jsonBody, pathParameter, route, type HttpEvent } from '../http';

/** `POST /api/imports/{importId}/mapping` `{mapping}`: resumes an import waiting in NEEDS_MAPPING; 202 once it runs on. */
export const makeHandler = (deps: Parameters<typeof submitImportMapping>[0]) =>
  route(async (event: HttpEvent) => {
    const result = await submitImportMapping(deps, callerOf(event), pathParameter(event, 'importId'), jsonBody(event));
    return json(202, result);
  });

export const handler = wired({ imports, executions, clock }, makeHandler);
