// Mutation testing (`npm run test:mutation`): on demand, not part of `npm test`.
// Scope: the domain core, the adapters and the code that drives the ASL; `-m core/**/*.ts` narrows a run.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  coverageAnalysis: 'perTest',
  mutate: [
    'core/**/*.ts',
    '!core/contract.ts',
    '!core/ports.ts',
    'adapters/**/*.ts',
    'infra/local/stepfunctions/**/*.ts',
  ],
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 20_000,
  // The first run of every fast test, with per-test coverage, takes minutes on a loaded machine.
  dryRunTimeoutMinutes: 40,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
