import { pino } from 'pino';

/** Structured JSON logs; callers bind executionArn / importId with `log.child({ executionArn })`. */
export const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: 'ferry', fn: process.env.AWS_LAMBDA_FUNCTION_NAME },
});
