import { DownloadRequestSchema } from '../../core/model';
import { parseInput } from '../../core/validation';
import { wired, type Deps } from '../composition';
import { clock } from '../ports/clock';
import { executions } from '../ports/executions';
import { ids } from '../ports/ids';
import { search } from '../ports/search';
import { callerOf, json, jsonBody, route, type HttpEvent } from '../http';
import { requestExport } from '../../core/export/use-cases';

export const makeHandler = (deps: Pick<Deps, 'config' | 'executions' | 'ids' | 'clock' | 'search'>) =>
  route(async (event: HttpEvent) => {
    const user = callerOf(event);
    const request = parseInput(DownloadRequestSchema, jsonBody(event));
    const { executionArn, estimatedRows } = await requestExport(deps, user, request);
    return json(202, { executionArn, estimatedRows });
  });

export const handler = wired({ executions, ids, clock, search }, makeHandler);
