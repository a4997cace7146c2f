import { defineConfig } from 'vitest/config';
import { chromiumMissing } from './test/requirements';

/** Real Chromium (Debian's /usr/bin/chromium) against the local stack serving frontend/dist. */
const e2e = {
  test: {
    name: 'e2e',
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/integration/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
};

const noBrowser = chromiumMissing();
if (noBrowser) console.warn(`\nThe end-to-end tests are skipped: ${noBrowser}.\n`);

/**
 * Without Chromium the e2e files are still collected, but no test name matches, so every test is
 * counted as skipped in the summary line (and no local stack is booted for them).
 */
const e2eSkipped = {
  test: {
    name: 'e2e',
    include: e2e.test.include,
    testNamePattern: /^(?!)/,
  },
};

/** One test command for the whole repository: unit + state machines, integration (boots the local stack), web app, e2e in Chromium. */
export default defineConfig({
  test: {
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/statemachines/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      './frontend/vitest.config.ts',
      noBrowser ? e2eSkipped : e2e,
    ],
  },
});
