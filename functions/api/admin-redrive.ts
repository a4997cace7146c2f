import { redriveExecution } from '../../core/admin';
import { wired, type Deps } from '../composition';
import { executions } from '../ports/executions';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';

export const makeHandler = (deps: Pick<Deps, 'executions'>) =>
  route(async (event: HttpEvent) => {
    const executionArn = pathParameter(event, 'executionArn');
    await redriveExecution(deps, callerOf(event), executionArn);
    return json(202, { executionArn, status: 'RUNNING' });
  });

export const handler = wired({ executions }, makeHandler);
