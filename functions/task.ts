import type { Logger } from 'pino';
import { isRecord } from '../core/guards';
import { log } from './log';

/** What Lambda passes beside the event; the local runtime passes the same field. */
export interface TaskInvocation {
  awsRequestId?: string;
}

/** The ids a task's event carries at its top level or in its `job`, for every log line of the call. */
function jobIdsOf(event: unknown): Record<string, string> {
  const ids: Record<string, string> = {};
  const sources = isRecord(event) ? [event, isRecord(event.job) ? event.job : {}] : [];
  for (const source of sources) {
    for (const key of ['executionArn', 'exportId', 'importId', 'batchId']) {
      const value = source[key];
      if (typeof value === 'string' && !(key in ids)) ids[key] = value;
    }
  }
  return ids;
}

/**
 * Wraps a workflow task handler, as `route()` wraps an HTTP one: binds a child logger with the request id
 * and the job's ids, times the call, logs its outcome (ok, or the error's name) and rethrows errors
 * unchanged, so Step Functions' Retry and Catch see exactly what the task threw.
 */
export function task<E, R>(
  name: string,
  run: (event: E, log: Logger) => Promise<R>,
  outcomeFields: (result: R, event: E) => Record<string, unknown> = () => ({}),
): (event: E, invocation?: TaskInvocation) => Promise<R> {
  return async (event, invocation) => {
    const taskLog = log.child({
      task: name,
      ...(invocation?.awsRequestId ? { requestId: invocation.awsRequestId } : {}),
      ...jobIdsOf(event),
    });
    const startedAt = performance.now();
    const ms = () => Math.round(performance.now() - startedAt);
    try {
      const result = await run(event, taskLog);
      taskLog.info({ outcome: 'ok', ms: ms(), ...outcomeFields(result, event) }, `${name}: ok`);
      return result;
    } catch (error) {
      const errorName = error instanceof Error ? error.name : typeof error;
      taskLog.error({ outcome: 'error', errorName, ms: ms(), err: error }, `${name}: ${errorName}`);
      throw error;
    }
  };
}
