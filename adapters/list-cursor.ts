import { InvalidInput } from '../core/errors';

/**
 * Opaque cursors for paginated lists (audit log, quarantine): the adapter's own position, as base64url
 * JSON. A cursor the list did not give out is the caller's mistake, so it is `InvalidInput` on `cursor`.
 */
export const encodeCursor = (position: unknown): string => Buffer.from(JSON.stringify(position)).toString('base64url');

const notOurs = () => new InvalidInput('The cursor is not one this list gave out.', 'cursor');

function decode(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw notOurs();
  }
}

/** A DynamoDB LastEvaluatedKey given back. */
export function decodeKeyCursor(cursor: string): Record<string, unknown> {
  const key = decode(cursor);
  if (typeof key === 'object' && key !== null && !Array.isArray(key)) return key as Record<string, unknown>;
  throw notOurs();
}

/** A (sort value, id) keyset position given back. */
export function decodePairCursor(cursor: string): [string, string] {
  const pair = decode(cursor);
  if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') return [pair[0], pair[1]];
  throw notOurs();
}
