import { DownloadRequestSchema } from '../../core/model';
import { parseInput } from '../../core/validation';
import { getDeps, type Deps } from '../composition';
import { callerOf, json, jsonBody, route, type HttpEvent } from '../http';
import { requestExport } from '../../core/export/use-cases';

export const makeHandler = (deps: Deps) =>
  route(async (event: HttpEvent) => {
    const user = callerOf(event);
    const request = parseInput(DownloadRequestSchema, jsonBody(event));
    const { executionArn } = await requestExport(deps, user, request);
    return json(202, { executionArn });
  });

export const handler = async (event: HttpEvent) => makeHandler(await getDeps())(event);
