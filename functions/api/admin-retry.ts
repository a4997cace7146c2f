import { retryExecution } from '../../core/retry';
import { getDeps, type Deps } from '../composition';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';

export const makeHandler = (deps: Pick<Deps, 'executions' | 'imports' | 'audit' | 'clock'>) =>
  route(async (event: HttpEvent) => {
    const { executionArn } = await retryExecution(deps, callerOf(event), pathParameter(event, 'executionArn'));
    return json(202, { executionArn });
  });

export const handler = async (event: HttpEvent) => makeHandler(await getDeps())(event);
