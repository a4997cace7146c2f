import * as z from 'zod';
import type { ImportPreview } from '../contract';
import { POST_COLUMNS, type PostColumn } from '../model';
import { headerProblem, isReportColumn, REQUIRED_IMPORT_COLUMNS } from './columns';

/**
 * Column mapping: which post field each column of a CSV file fills (`null`: the column is ignored). A file whose
 * header is made of post column names maps onto the fields by itself; any other waits for the user's mapping
 * (status NEEDS_MAPPING with a preview and a suggestion), unless one came with `POST /api/imports`.
 */
export type ColumnMapping = Record<string, PostColumn | null>;

export const ColumnMappingSchema = z.record(
  z.string().min(1).max(200),
  z.enum(POST_COLUMNS, `must be one of ${POST_COLUMNS.join(', ')}, or null to leave the column out`).nullable(),
);

/** Rows in a preview, and the characters kept of each cell (a post's content can be 100,000). */
export const PREVIEW_ROWS = 20;
export const PREVIEW_CELL_CHARS = 200;
/** The preview lives on the import record: a wide file gets shorter cells, then fewer rows, to stay far under DynamoDB's 400 KB item. */
const PREVIEW_BUDGET_CHARS = 100_000;
const MIN_PREVIEW_CELL_CHARS = 20;

/** Header names that commonly mean a post field, compared without case, spaces, dashes or underscores. */
const SYNONYMS: Record<PostColumn, readonly string[]> = {
  id: ['id', 'postid', 'key', 'uuid'],
  userId: ['userid', 'user', 'author', 'authorid', 'username', 'owner', 'createdby', 'by'],
  dateCreated: [
    'datecreated',
    'date',
    'created',
    'createdat',
    'createdon',
    'timestamp',
    'time',
    'datetime',
    'posted',
    'postedat',
    'published',
  ],
  content: ['content', 'text', 'body', 'message', 'post', 'description', 'comment'],
  tags: ['tags', 'tag', 'labels', 'label', 'keywords', 'categories', 'topics'],
};

const normalise = (name: string): string => name.toLowerCase().replace(/[\s_\-.]+/g, '');

/** The file's header maps onto post fields with no help: every column a post column (or a report's), the required ones there. */
export const headerMapsItself = (columns: readonly string[]): boolean => headerProblem(columns) === undefined;

/** A mapping from header names: each field goes to the first column whose name means it; the rest are left out. */
export function suggestMapping(columns: readonly string[]): ColumnMapping {
  const mapping: ColumnMapping = {};
  const taken = new Set<PostColumn>();
  for (const column of columns) {
    const name = normalise(column);
    const field = POST_COLUMNS.find((candidate) => !taken.has(candidate) && SYNONYMS[candidate].includes(name));
    if (field) taken.add(field);
    mapping[column] = field ?? null;
  }
  return mapping;
}

/** Why a mapping cannot be used for a file with these columns, or undefined when it can. */
export function mappingProblem(columns: readonly string[], mapping: ColumnMapping): string | undefined {
  const known = new Set(columns);
  const unknown = Object.keys(mapping).find((column) => !known.has(column));
  if (unknown !== undefined) return `the file has no column "${unknown}" (its columns are ${columns.join(', ')})`;
  const fields = mappedFields(columns, mapping);
  const seen = new Set<PostColumn>();
  for (const field of fields) {
    if (field === undefined) continue;
    if (seen.has(field)) return `more than one column is mapped to ${field}`;
    seen.add(field);
  }
  const missing = REQUIRED_IMPORT_COLUMNS.filter((field) => !seen.has(field));
  if (missing.length > 0) return `no column is mapped to ${missing.join(', ')}`;
  return undefined;
}

/**
 * The post field each column fills, in column order (undefined: left out). A column the mapping does not name
 * fills the field of its own name, if it is one; a report's `line` and `error` columns are always left out.
 */
export function mappedFields(columns: readonly string[], mapping: ColumnMapping | undefined): Array<PostColumn | undefined> {
  return columns.map((column) => {
    if (mapping && Object.hasOwn(mapping, column)) return mapping[column] ?? undefined;
    if (isReportColumn(column)) return undefined;
    return (POST_COLUMNS as readonly string[]).includes(column) ? (column as PostColumn) : undefined;
  });
}

/** What the user sees while the import waits: the columns, the first rows (cells cut short), the detection and a suggestion. */
export function previewOf(verdict: {
  columns: string[];
  rows: string[][];
  delimiter: ImportPreview['delimiter'];
  encoding: ImportPreview['encoding'];
}): ImportPreview {
  const width = Math.max(1, verdict.columns.length);
  const cellChars = Math.max(
    MIN_PREVIEW_CELL_CHARS,
    Math.min(PREVIEW_CELL_CHARS, Math.floor(PREVIEW_BUDGET_CHARS / (width * PREVIEW_ROWS))),
  );
  const rowCount = Math.max(1, Math.min(PREVIEW_ROWS, Math.floor(PREVIEW_BUDGET_CHARS / (width * cellChars))));
  return {
    columns: verdict.columns,
    rows: verdict.rows
      .slice(0, rowCount)
      .map((row) => row.slice(0, width).map((cell) => (cell.length > cellChars ? `${cell.slice(0, cellChars)}…` : cell))),
    delimiter: verdict.delimiter,
    encoding: verdict.encoding,
    suggestedMapping: suggestMapping(verdict.columns),
  };
}
