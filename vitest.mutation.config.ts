import { defineConfig } from 'vitest/config';

/**
 * The fast tests Stryker runs against each mutant: the unit project (core, adapters on dynalite and
 * recorded wire answers) and the state machine tests. No integration or e2e: they boot a whole stack.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/unit/**/*.test.ts', 'test/statemachines/**/*.test.ts'],
    // These run child processes (vitest, npm run seed, esbuild, serverless package): the code they
    // exercise runs outside the test process, so they never kill a mutant, and they are the slowest.
    exclude: [
      'test/unit/summary-reporter.test.ts',
      'test/unit/opensearch-seed.test.ts',
      'test/unit/bundle-error-names.test.ts',
      'test/unit/serverless-template.test.ts',
    ],
    // Instrumented code on a loaded machine runs slower than in `npm test`.
    testTimeout: 60_000,
  },
});
