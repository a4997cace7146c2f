import * as z from 'zod';
import { executionsWithStatus } from '../../core/admin';
import { parseInput } from '../../core/validation';
import { wired, type Deps } from '../composition';
import { executions } from '../ports/executions';
import { callerOf, json, route, type HttpEvent } from '../http';

const QuerySchema = z.object({
  status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']).default('FAILED'),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const makeHandler = (deps: Pick<Deps, 'executions'>) =>
  route(async (event: HttpEvent) => {
    const { status, limit } = parseInput(QuerySchema, event.queryStringParameters ?? {});
    return json(200, { executions: await executionsWithStatus(deps, callerOf(event), status, limit) });
  });

export const handler = wired({ executions }, makeHandler);
