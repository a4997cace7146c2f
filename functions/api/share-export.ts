import * as z from 'zod';
import { shareExport, unshareExport } from '../../core/export/jobs';
import { parseInput } from '../../core/validation';
import { wired, type Deps } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { mailer } from '../ports/mailer';
import { users } from '../ports/users';
import { callerOf, json, jsonBody, pathParameter, route, type HttpEvent } from '../http';

const ShareSchema = z.object({ usernames: z.array(z.string().min(1).max(128)).min(1).max(50) }).strict();

/** `POST /api/exports/{exportId}/shares {usernames}` grants; `DELETE …/shares/{username}` revokes. Owner only. */
export const makeHandler = (deps: Pick<Deps, 'config' | 'exportJobs' | 'users' | 'mailer' | 'audit' | 'clock'>) =>
  route(async (event: HttpEvent) => {
    const user = callerOf(event);
    const exportId = pathParameter(event, 'exportId');
    if (event.requestContext.http.method === 'DELETE') {
      const ports = { exportJobs: deps.exportJobs, audit: deps.audit, clock: deps.clock };
      return json(200, await unshareExport(ports, user, exportId, pathParameter(event, 'username')));
    }
    const { usernames } = parseInput(ShareSchema, jsonBody(event));
    const ports = { config: deps.config, exportJobs: deps.exportJobs, users: deps.users, mailer: deps.mailer, audit: deps.audit, clock: deps.clock };
    return json(200, await shareExport(ports, user, exportId, usernames));
  });

export const handler = wired({ exportJobs, users, mailer, audit, clock }, makeHandler);
