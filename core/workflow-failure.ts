import { isRecord } from './guards';

/** What a Catch puts at `$.failure` (statemachines/*.asl.yaml, `ResultPath: $.failure`). */
export interface WorkflowFailure {
  Error: string;
  Cause?: string;
}

/** The message inside a Catch's Cause: Lambda puts `{"errorType","errorMessage",…}` there as JSON. */
export function causeMessage(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (isRecord(parsed) && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: the cause is already plain text.
  }
  return cause;
}

/** The failure in one line for the audit log and the admins: the error name and its message. */
export function failureDetail(failure: WorkflowFailure): string {
  const message = causeMessage(failure.Cause);
  return (message ? `${failure.Error}: ${message}` : failure.Error).slice(0, 1000);
}

/** Errors that mean a task ran out of time (its own Timeout, a missed heartbeat, or its Lambda function's timeout). */
export const isTimeout = (name: string): boolean => name === 'States.Timeout' || name === 'States.HeartbeatTimeout' || name === 'Sandbox.Timedout';

/** Lambda's name for an invocation that went over its function's memorySize. */
export const isOutOfMemory = (name: string): boolean => name === 'Runtime.OutOfMemory';

/** Errors that mean something the task depends on was unavailable (worth trying again later). */
export const isUnavailable = (name: string): boolean => name === 'Transient' || name.startsWith('Lambda.') || name === 'States.TaskFailed';

/**
 * Attempts every notification, even when one fails, then fails with the first failure: a failed
 * mail must not keep the push from being sent, and the task still fails (and is retried when transient).
 */
export async function attemptAll(notifications: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(notifications);
  const rejected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (rejected) throw rejected.reason;
}
