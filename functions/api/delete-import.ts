import { cancelOrDeleteImport } from '../../core/import/jobs';
import { wired, type Deps } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { executions } from '../ports/executions';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { search } from '../ports/search';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';

/** `DELETE /api/imports/{importId}`: cancels an import under way (409 once it commits), deletes a finished one (its files too). Owner only. */
export const makeHandler = (deps: Pick<Deps, 'config' | 'imports' | 'executions' | 'objects' | 'audit' | 'clock' | 'search'>) =>
  route(async (event: HttpEvent) => {
    const { config, imports, executions, objects, audit, clock, search } = deps;
    const ports = { config, imports, executions, objects, audit, clock, search };
    const importId = pathParameter(event, 'importId');
    const { cancelled } = await cancelOrDeleteImport(ports, callerOf(event), importId);
    return json(200, { importId, status: cancelled ? 'CANCELLED' : 'DELETED' });
  });

export const handler = wired({ imports, executions, objects, audit, clock, search }, makeHandler);
