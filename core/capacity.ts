/**
 * Sizes that fit the engine: the largest import file and the largest export one task finishes within
 * Lambda's 15-minute timeout, from the rates `npm run bench:import` / `bench:export` measure, with margin.
 *
 * Import: the slowest pass over a file is processImport (parse, validate, bulk-index) at ~20,000 rows/s
 * ≈ 2 MB/s; the checks are faster (checksum ~500 MB/s, clamd ~150 MB/s). 1 GiB / 2 MB/s ≈ 537 s, 60% of
 * 900 s (a 1.7× margin for a slower search cluster). clamd's StreamMaxLength (2000M) is above it.
 * Export: generateCsvReport writes ~150,000 rows/s; 25,000,000 rows take ~167 s, a 5× margin on 900 s
 * (OpenSearch point-in-time pages are slower than the local store the figure was measured on).
 */
export const TASK_TIMEOUT_SECONDS = 900;
export const MAX_IMPORT_BYTES_ONE_TASK = 1024 ** 3;
export const MAX_EXPORT_ROWS_ONE_TASK = 25_000_000;
/**
 * Exports above this many rows are sliced (EXPORT_SLICE_ROWS), in slices of about this many: 5,000,000 rows
 * at the ~150,000 rows/s one task writes take ~33 s locally, so a slice stays well inside 900 s even at a
 * fifth of that rate on OpenSearch's pages.
 */
export const EXPORT_SLICE_ROWS_DEFAULT = 5_000_000;
/** Most slices of one export (core/export/slices.ts): S3's 10,000 parts shared out, 100 parts each. */
export const MAX_EXPORT_SLICES = 100;
/**
 * The largest export by default (MAX_EXPORT_ROWS): 100 slices of 5,000,000 rows, each slice well inside its task's
 * 15 minutes. Larger searches are refused up front with how to narrow them, never cut off at minute 15.
 */
export const MAX_EXPORT_ROWS_SLICED = MAX_EXPORT_SLICES * EXPORT_SLICE_ROWS_DEFAULT;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** "1 GiB", "512 MiB" or bytes, for messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  return `${bytes} bytes`;
}

export const importSizeRule = (maxImportBytes: number) =>
  `must be at most ${formatBytes(maxImportBytes)} (${maxImportBytes} bytes): larger files cannot be checked and imported within one task's ${TASK_TIMEOUT_SECONDS / 60}-minute limit; split the file`;

export const exportSizeRule = (estimatedRows: number, maxExportRows: number) =>
  `This search matches about ${estimatedRows.toLocaleString('en-US')} posts; one export writes at most ${maxExportRows.toLocaleString('en-US')}. Narrow it with words, tags, a user or a date range.`;
