import { POST_COLUMNS, type PostColumn } from '../model';

/**
 * Columns an import file must have; `id`, `userId` and `tags` may be left out (ids are then assigned per
 * row, the uploader is the author, tags default to none).
 */
export const REQUIRED_IMPORT_COLUMNS = ['dateCreated', 'content'] as const satisfies readonly PostColumn[];

/** The columns an error report adds to the file's own; a report fixed and uploaded again imports, ignoring them. */
export const REPORT_COLUMNS = ['line', 'error'] as const;
export const isReportColumn = (column: string): boolean => (REPORT_COLUMNS as readonly string[]).includes(column);

/**
 * Why a CSV header cannot be imported, or undefined when it can: every column must be a post column
 * (an unknown one would be dropped silently otherwise), none twice, and the required ones present.
 */
export function headerProblem(header: readonly string[]): string | undefined {
  const known = new Set<string>(POST_COLUMNS);
  const seen = new Set<string>();
  for (const column of header) {
    if (!known.has(column) && !isReportColumn(column)) return `unknown column "${column}" (expected some of ${POST_COLUMNS.join(', ')})`;
    if (seen.has(column)) return `column "${column}" appears twice`;
    seen.add(column);
  }
  const missing = REQUIRED_IMPORT_COLUMNS.filter((column) => !seen.has(column));
  if (missing.length > 0) return `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  return undefined;
}
