/** How the web app follows a job: its waits between status checks (no browser types: bench:load follows jobs the same way). */
export interface PollTiming {
  /** First wait between status checks. */
  initialMs: number;
  /** Longest wait between status checks (the backoff stops growing here). */
  maxMs: number;
  /** With a push socket open and silent this long, start polling as well. */
  pushSafetyMs: number;
  /** A ping on the push socket this often: API Gateway closes a socket idle for 10 minutes. */
  pingMs: number;
  /** After a dropped socket (and one status check), reconnect after this, doubling up to `reconnectMaxMs`. */
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  /** Reconnects before giving the socket up for polling. */
  maxReconnects: number;
  /** How often the job lists are checked for jobs that finished (the toasts); 5 s when absent. */
  jobsMs?: number;
}

export const DEFAULT_TIMING: PollTiming = {
  initialMs: 1000,
  maxMs: 10_000,
  pushSafetyMs: 60_000,
  pingMs: 5 * 60_000,
  reconnectInitialMs: 1000,
  reconnectMaxMs: 30_000,
  maxReconnects: 5,
};

/** The wait after `delay` between two status checks: 1.6 times longer, up to `timing.maxMs`. */
export const nextPollDelay = (delay: number, timing: Pick<PollTiming, 'maxMs'>): number => Math.min(timing.maxMs, Math.round(delay * 1.6));
