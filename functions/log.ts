import { pino } from 'pino';

/** Structured JSON logs; task() (functions/task.ts) binds the request id and the job's ids to every line of a task. */
export const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: 'ferry', fn: process.env.AWS_LAMBDA_FUNCTION_NAME },
});
