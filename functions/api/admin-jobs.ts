import * as z from 'zod';
import { adminJobs } from '../../core/admin';
import { parseInput } from '../../core/validation';
import { wired, type Deps } from '../composition';
import { clock } from '../ports/clock';
import { exportJobs } from '../ports/export-jobs';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { users } from '../ports/users';
import { callerOf, json, route, type HttpEvent } from '../http';

const QuerySchema = z.object({
  kind: z.enum(['export', 'import']).default('export'),
  user: z.string().min(1).max(128).optional(),
  status: z.string().min(1).max(32).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(1000).optional(),
});

/** `GET /api/admin/jobs?user=&status=&kind=` (admins only). */
export const makeHandler = (deps: Pick<Deps, 'config' | 'exportJobs' | 'imports' | 'users' | 'objects' | 'clock'>) =>
  route(async (event: HttpEvent) => {
    const query = parseInput(QuerySchema, event.queryStringParameters ?? {});
    const ports = { config: deps.config, exportJobs: deps.exportJobs, imports: deps.imports, users: deps.users, objects: deps.objects, clock: deps.clock };
    return json(200, await adminJobs(ports, callerOf(event), query));
  });

export const handler = wired({ exportJobs, imports, users, objects, clock }, makeHandler);
