// A quick mutation run of a few core/ files: `npx stryker run stryker.file.config.mjs --mutate core/import/rows.ts`.
// Only the tests that import the files run (vitest `related`), the checker type-checks the core/ program alone
// (tsconfig.mutation-core.json: the whole repository's took over half an hour on one file's mutants), one
// checker and one runner (the machine is shared), and a mutant that hangs is cut off after 5 s.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { ...base.vitest, related: true },
  tsconfigFile: 'tsconfig.mutation-core.json',
  concurrency: 1,
  timeoutMS: 5000,
  reporters: ['clear-text', 'json', 'progress-append-only'],
  jsonReporter: { fileName: 'reports/mutation/file.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
};
