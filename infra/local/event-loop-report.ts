import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The line prefix of reportEventLoopDelay, for bench:load to read from the stack's stderr. */
export const EVENT_LOOP_LINE = 'FERRY_EVENT_LOOP';

/**
 * Every `everyMs`, one stderr line with how late the stack's event loop ran its callbacks in that window
 * (p50, p99 and max delay in ms): a request that arrives while the loop is held waits at least that long.
 */
export function reportEventLoopDelay(everyMs = 1000): () => void {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const timer = setInterval(() => {
    const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e5) / 10;
    process.stderr.write(
      `${EVENT_LOOP_LINE} ${JSON.stringify({ at: Date.now(), p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) })}\n`,
    );
    histogram.reset();
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    histogram.disable();
  };
}
