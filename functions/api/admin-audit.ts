import * as z from 'zod';
import { auditLog } from '../../core/admin';
import { parseInput } from '../../core/validation';
import { wired, type Deps } from '../composition';
import { audit } from '../ports/audit';
import { callerOf, json, route, type HttpEvent } from '../http';

const PageSchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(500).optional() });

export const makeHandler = (deps: Pick<Deps, 'audit'>) =>
  route(async (event: HttpEvent) => {
    const page = parseInput(PageSchema, event.queryStringParameters ?? {});
    return json(200, await auditLog(deps, callerOf(event), page));
  });

export const handler = wired({ audit }, makeHandler);
