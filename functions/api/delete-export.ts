import { cancelOrDeleteExport } from '../../core/export/jobs';
import { wired, type Deps } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { executions } from '../ports/executions';
import { exportJobs } from '../ports/export-jobs';
import { objects } from '../ports/objects';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';

/** `DELETE /api/exports/{exportId}`: cancels a running export, deletes a finished one (its file too). Owner only. */
export const makeHandler = (deps: Pick<Deps, 'config' | 'exportJobs' | 'executions' | 'objects' | 'audit' | 'clock'>) =>
  route(async (event: HttpEvent) => {
    const ports = { config: deps.config, exportJobs: deps.exportJobs, executions: deps.executions, objects: deps.objects, audit: deps.audit, clock: deps.clock };
    const exportId = pathParameter(event, 'exportId');
    const { cancelled } = await cancelOrDeleteExport(ports, callerOf(event), exportId);
    return json(200, { exportId, status: cancelled ? 'CANCELLED' : 'DELETED' });
  });

export const handler = wired({ exportJobs, executions, objects, audit, clock }, makeHandler);
