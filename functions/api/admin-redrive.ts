import { redriveExecution } from '../../core/admin';
import { getDeps, type Deps } from '../composition';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';

export const makeHandler = (deps: Pick<Deps, 'executions'>) =>
  route(async (event: HttpEvent) => {
    const executionArn = pathParameter(event, 'executionArn');
    await redriveExecution(deps, callerOf(event), executionArn);
    return json(202, { executionArn, status: 'RUNNING' });
  });

export const handler = async (event: HttpEvent) => makeHandler(await getDeps())(event);
