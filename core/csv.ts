/**
 * The one CSV writer of Ferry (exports and the import's error report): RFC 4180 (CRLF records, fields
 * quoted when they hold a comma, quote, CR or LF), UTF-8, and cells neutralised against formula injection.
 */

/** Tags of a post are one cell, joined (and, on import, split) with this. */
export const TAG_SEPARATOR = ';';

/** Spreadsheets treat a cell starting with one of these as a formula (OWASP "CSV Injection"). */
const FORMULA_TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);

/** Prefixes a single quote to a cell a spreadsheet would run as a formula; other cells are unchanged. */
export function neutraliseFormula(cell: string): string {
  return FORMULA_TRIGGERS.has(cell.charAt(0)) ? `'${cell}` : cell;
}

/**
 * The export's guard reversed, by exactly its rule: a cell that is a single quote followed by a formula
 * trigger loses that quote. The one ambiguity: a value that itself began with `'` and a trigger (`'=x`)
 * is exported unchanged and so comes back as `=x` (README, "Exact round trip").
 */
export function restoreFormula(cell: string): string {
  return cell.charAt(0) === "'" && FORMULA_TRIGGERS.has(cell.charAt(1)) ? cell.slice(1) : cell;
}

/**
 * RFC 4180 field: quoted when it holds a comma, a quote, CR or LF, with quotes doubled; otherwise as is.
 * Byte for byte what csv-stringify writes with CRLF records (test/unit/csv.test.ts checks), written by
 * hand because csv-stringify made ~5 KB of garbage per ~200-byte row, the main cost of an export.
 */
const NEEDS_QUOTES = /[",\r\n]/;
const QUOTE = /"/g;
export const csvField = (cell: string): string => (NEEDS_QUOTES.test(cell) ? `"${cell.replace(QUOTE, '""')}"` : cell);

/** One CSV record of cells as they are (already neutralised where they should be), CRLF-terminated. */
export const csvLine = (cells: readonly string[]): string => {
  let line = '';
  for (let i = 0; i < cells.length; i += 1) line += (i === 0 ? '' : ',') + csvField(cells[i] as string);
  return `${line}\r\n`;
};
