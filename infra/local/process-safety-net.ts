/**
 * The local stack is one process for what AWS runs as many: one request's failure must not end the rest.
 * An unhandled rejection or uncaught exception is logged as a JSON line with what it was and where it came
 * from, and the process goes on (each request's own error handling answers it; this is the net under that).
 */
export function keepRunningOnStrayErrors(log: (line: string) => void = (line) => console.error(line)): void {
  const report = (kind: string) => (error: unknown, origin?: unknown) =>
    log(
      JSON.stringify({
        level: 'error',
        msg: `local stack: ${kind} (the process keeps running)`,
        origin: typeof origin === 'string' ? origin : undefined,
        error: error instanceof Error ? { name: error.name, message: error.message, code: (error as NodeJS.ErrnoException).code, stack: error.stack } : String(error),
      }),
    );
  process.on('unhandledRejection', report('unhandled rejection'));
  process.on('uncaughtException', report('uncaught exception'));
}
