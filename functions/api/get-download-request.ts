import { getDeps, type Deps } from '../composition';
import { log } from '../log';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';
import { exportStatus } from '../../core/export/use-cases';

export const makeHandler = (deps: Deps) =>
  route(async (event: HttpEvent) => {
    const user = callerOf(event);
    const status = await exportStatus({ log, ...deps }, user, pathParameter(event, 'executionArn'));
    return json(200, status);
  });

export const handler = async (event: HttpEvent) => makeHandler(await getDeps())(event);
