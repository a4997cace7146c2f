import type * as z from 'zod';
import { InvalidInput } from './errors';

/** Parses untrusted input with a schema; the first problem becomes an InvalidInput naming its field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, fieldPrefix = ''): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [fieldPrefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join('.');
  const field = path || 'body';
  throw new InvalidInput(`${field}: ${issue?.message ?? 'invalid value'}`, field);
}
