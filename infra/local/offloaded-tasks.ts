/**
 * The workflow tasks that read, parse and write whole files (CSV reports, import checks and rows) run apart from the
 * stack's own event loop, as Lambda runs each invocation apart from the API's: on the stack's own thread they held the
 * gateway's event loop, and search answered seconds late while exports and imports ran. One task per line: a sliced export's
 * plan, slices and assembly read and write its file as "Generate CSV report" does, and "Keep resource" copies a file and
 * makes its thumbnail.
 */
export const OFFLOADED_TASKS: ReadonlySet<string> = new Set([
  'generateCsvReport',
  'scanForViruses',
  'computeChecksum',
  'identifyFormat',
  'processImport',
  'planImportChunks',
  'importChunk',
  'commitImportChunks',
  'planExportSlices',
  'writeExportSlice',
  'assembleExportFile',
  'keepResource',
]);
