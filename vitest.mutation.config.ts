import { defineConfig } from 'vitest/config';

/**
 * The fast tests Stryker runs against each mutant: the unit project (core, adapters on dynalite and
 * recorded wire answers) and the state machine tests. No integration or e2e: they boot a whole stack.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/unit/**/*.test.ts', 'test/statemachines/**/*.test.ts'],
    // Runs the repository's vitest in a child process: it covers the config, never a mutant.
    exclude: ['test/unit/summary-reporter.test.ts'],
    testTimeout: 30_000,
  },
});
