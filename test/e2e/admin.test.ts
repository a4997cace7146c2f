import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, pollUntilDone, signIn, stack } from '../integration/client';
import { openBrowser, screenshot, screenshotOnFailure, signedInAs, type BrowserSession } from './browser';

let browser: BrowserSession | undefined;

afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

screenshotOnFailure(() => browser?.page);

beforeAll(async () => {
  // An export of alice's of its own, so the audit log has her whatever order the files run in.
  const alice = await signIn('alice');
  const { status, body } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', {
    type: 'direct',
    searchCriteria: { q: 'espresso', tags: ['coffee'] },
  });
  expect(status).toBe(202);
  expect((await pollUntilDone(alice, body.executionArn)).status).toBe('SUCCEEDED');
});

describe('the admin page', () => {
  it('is not offered to alice, and tells her plainly when she goes there anyway', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await signedInAs(page, 'alice');
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).not.toContain('Admin');

    await page.goto(`${stack().url}/#/admin`);
    await page.getByRole('alert').filter({ hasText: 'This page is for administrators' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Audit log' }).count()).toBe(0);
    await screenshot(page, '08-admin-refused-for-alice');
    expect(browser.pageErrors).toEqual([]);
  });

  it("shows an admin alice's exports in the audit log, and the failed executions", async () => {
    browser = await openBrowser();
    const { page } = browser;
    await signedInAs(page, 'admin');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'Admin', level: 1 }).waitFor();

    const audit = page.getByRole('region', { name: 'Audit log' });
    const aliceExports = audit.getByRole('row').filter({ hasText: 'alice' }).filter({ hasText: 'Export · Download' });
    await aliceExports.first().waitFor();
    const succeeded = aliceExports.filter({ hasText: '“espresso” · tags coffee' }).filter({ hasText: 'Succeeded' });
    expect(await succeeded.count()).toBe(1);

    const failed = page.getByRole('region', { name: 'Failed executions' });
    await failed
      .getByText(/No failed executions\.|Retry/)
      .first()
      .waitFor();
    expect(await failed.getByRole('alert').count()).toBe(0);

    await screenshot(page, '07-admin');
    expect(browser.pageErrors).toEqual([]);
  });
});
