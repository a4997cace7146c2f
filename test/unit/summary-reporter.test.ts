import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
const run = promisify(execFile);

/** The repository's vitest, as `npm test` runs it, with Chromium at `chromiumPath` (CI unset: there a missing browser is an error). */
const vitest = async (chromiumPath: string, ...args: string[]) => {
  const inherited = Object.entries(process.env).filter(([name]) => name !== 'CI' && !name.startsWith('VITEST'));
  const env = { ...Object.fromEntries(inherited), CHROMIUM_PATH: chromiumPath, FORCE_COLOR: '0', NO_COLOR: '1' };
  const { stdout } = await run(process.execPath, [VITEST, ...args], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
};

describe('the summary line of a run without Chromium', () => {
  it('counts every end-to-end test as skipped instead of dropping them', async () => {
    // With a browser present (any existing file will do for the check), the e2e project lists its tests…
    const listed = JSON.parse(await vitest(process.execPath, 'list', '--project', 'e2e', '--json')) as unknown[];
    expect(listed.length).toBeGreaterThan(0);
    // …and without one, the same tests end up in the summary line as skipped, and none runs.
    const stdout = await vitest('/nonexistent/chromium', 'run', '--project', 'e2e');
    expect(stdout).toContain(`\n0 passed, 0 failed, ${listed.length} skipped\n`);
  }, 180_000);
});
