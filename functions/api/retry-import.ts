import { retryImport } from '../../core/retry';
import { wired, type Deps } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { executions } from '../ports/executions';
import { imports } from '../ports/imports';
import { callerOf, json, pathParameter, route, type HttpEvent } from '../http';

/** `POST /api/imports/{importId}/retry`: the owner retries a FAILED import (or batch); 202 with the new execution. */
export const makeHandler = (deps: Pick<Deps, 'executions' | 'imports' | 'audit' | 'clock'>) =>
  route(async (event: HttpEvent) => {
    const { executionArn } = await retryImport(deps, callerOf(event), pathParameter(event, 'importId'));
    return json(202, { executionArn });
  });

export const handler = wired({ executions, imports, audit, clock }, makeHandler);
