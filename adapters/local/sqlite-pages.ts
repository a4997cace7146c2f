import type { DatabaseSync } from 'node:sqlite';
import { decodePairCursor, encodeCursor } from '../list-cursor';

/** Where a newest-first list lives: table and column names are the adapter's constants, never input. */
export interface NewestFirstList {
  table: string;
  /** The sort column (an ISO timestamp), then the id that breaks ties. */
  sortColumn: string;
  idColumn: string;
  /** The column holding the item as JSON. */
  jsonColumn: string;
  /** An extra SQL condition on the rows, without parameters. */
  where?: string;
}

/** One page of a keyset-paginated, newest-first list, and the cursor to the next page if there is one. */
export function newestFirstPage<T>(
  db: DatabaseSync,
  list: NewestFirstList,
  options: { limit: number; cursor?: string },
): { items: T[]; nextCursor?: string } {
  const limit = Math.max(1, Math.floor(options.limit));
  const after = options.cursor ? decodePairCursor(options.cursor) : undefined;
  const conditions = [list.where, after ? `(${list.sortColumn}, ${list.idColumn}) < (?, ?)` : undefined].filter(Boolean);
  const sql =
    `SELECT ${list.sortColumn} AS sort_value, ${list.idColumn} AS id, ${list.jsonColumn} AS json FROM ${list.table}` +
    (conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '') +
    ` ORDER BY ${list.sortColumn} DESC, ${list.idColumn} DESC LIMIT ?`;
  const rows = db.prepare(sql).all(...(after ?? []), limit + 1) as Array<{ sort_value: string; id: string; json: string }>;
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => JSON.parse(row.json) as T),
    ...(rows.length > limit && last ? { nextCursor: encodeCursor([last.sort_value, last.id]) } : {}),
  };
}
