import { DownloadRequestSchema } from '../../core/model';
import { parseInput } from '../../core/validation';
import { wired, type Deps } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { executions } from '../ports/executions';
import { exportJobs } from '../ports/export-jobs';
import { ids } from '../ports/ids';
import { mailer } from '../ports/mailer';
import { search } from '../ports/search';
import { users } from '../ports/users';
import { callerOf, json, jsonBody, route, type HttpEvent } from '../http';
import { requestExport } from '../../core/export/use-cases';

export const makeHandler = (deps: Pick<Deps, 'config' | 'executions' | 'ids' | 'clock' | 'search' | 'exportJobs' | 'users' | 'mailer' | 'audit'>) =>
  route(async (event: HttpEvent) => {
    const user = callerOf(event);
    const request = parseInput(DownloadRequestSchema, jsonBody(event));
    // The directory and the mailer are only needed (and only built) for a request that shares.
    const sharing = request.shareWith && request.shareWith.length > 0 ? { users: deps.users, mailer: deps.mailer, audit: deps.audit } : {};
    const ports = { config: deps.config, executions: deps.executions, ids: deps.ids, clock: deps.clock, search: deps.search, exportJobs: deps.exportJobs };
    const { executionArn, exportId, estimatedRows } = await requestExport({ ...ports, ...sharing }, user, request);
    return json(202, { executionArn, exportId, estimatedRows });
  });

export const handler = wired({ executions, ids, clock, search, exportJobs, users, mailer, audit }, makeHandler);
