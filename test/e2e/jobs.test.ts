import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImport, signIn } from '../integration/client';
import { openBrowser, screenshot, screenshotOnFailure, signedInAs, type BrowserSession } from './browser';

/** Exports and imports as the user's own records on the server (issue 11), in the web app. */

let alice: BrowserSession;
let page: Page;
/** A search no other test file exports, so its item is this file's own. */
const TEXT = 'synthesizer';

screenshotOnFailure(() => page);

beforeAll(async () => {
  alice = await openBrowser();
  page = alice.page;
  await signedInAs(page, 'alice');
});

afterAll(async () => {
  await alice?.close();
});

const nav = (label: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true });
const toasts = () => page.getByRole('status', { name: 'Notifications' });
const exportItem = (p: Page) => p.locator('.export-item', { hasText: `matching "${TEXT}"` }).first();

describe('exports on the server', () => {
  it('toasts when an export finishes, then lists it on the Exports page with its size and expiry date', async () => {
    await page.getByLabel('Text', { exact: true }).fill(TEXT);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText(/posts? found/).waitFor();
    await page.getByRole('button', { name: /^Export results/ }).click();
    await page.getByRole('menuitem', { name: /^Email me a link/ }).click();

    // Wherever the user is: they go to the Import page while it runs.
    await nav('Import').click();
    await page.getByRole('heading', { name: 'Import posts' }).waitFor();
    await toasts().getByRole('link', { name: new RegExp(`Your export of posts matching "${TEXT}".* is ready`) }).waitFor({ timeout: 120_000 });
    await screenshot(page, 'jobs-01-toast');

    await nav('Exports').click();
    await page.getByRole('heading', { name: 'Exports', level: 1 }).waitFor();
    const item = exportItem(page);
    await item.getByText('Ready').waitFor();
    await expect(item.textContent()).resolves.toMatch(/\d[\d,]* rows? · [\d.]+ (B|KB|MB) · expires \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in \d+ h\)/);
    await screenshot(page, 'jobs-02-exports-page');
  });

  it('lists the same export in a new browser context: the list lives on the server', async () => {
    const fresh = await openBrowser();
    try {
      await signedInAs(fresh.page, 'alice');
      await fresh.page.goto(`${new URL(fresh.page.url()).origin}/#/exports`);
      await exportItem(fresh.page).getByText('Ready').waitFor();
      await exportItem(fresh.page).getByRole('link', { name: 'Download' }).waitFor();
    } finally {
      await fresh.close();
    }
  });

  it("shares it with bob: it appears in bob's list, naming alice", async () => {
    const item = exportItem(page);
    await item.getByRole('button', { name: /^Share/ }).click();
    await item.getByRole('textbox', { name: /Share with/ }).fill('bob');
    await item.getByRole('button', { name: 'Share', exact: true }).click();
    await item.getByText('Shared with bob').waitFor();

    const bob = await openBrowser();
    try {
      await signedInAs(bob.page, 'bob');
      await bob.page.goto(`${new URL(bob.page.url()).origin}/#/exports`);
      const shared = exportItem(bob.page);
      await shared.getByText('shared by alice').waitFor();
      await shared.getByRole('link', { name: 'Download' }).waitFor();
      expect(await shared.getByRole('button', { name: /^Delete/ }).count()).toBe(0);
      await screenshot(bob.page, 'jobs-03-shared-with-bob');
      expect(bob.pageErrors).toEqual([]);
    } finally {
      await bob.close();
    }
  });
});

describe('imports on the server', () => {
  it('cancels an import that is waiting for its upload; the Imports page then says Cancelled', async () => {
    const token = await signIn('alice');
    const fileName = `cancel-me-${Date.now()}.csv`;
    const created = await createImport(token, { fileName, size: 60, contentType: 'text/csv', type: 'direct' });
    expect(created.importId).toBeTruthy();

    await nav('Imports').click();
    await page.getByRole('heading', { name: 'Imports', level: 1 }).waitFor();
    const item = page.getByRole('listitem', { name: `Import of ${fileName}` });
    await item.getByText('Waiting for upload').waitFor();
    await item.getByRole('button', { name: `Cancel ${fileName}` }).click();

    await item.getByText('Cancelled', { exact: true }).waitFor();
    await item.getByText('The import was cancelled.').waitFor();
    await screenshot(page, 'jobs-04-import-cancelled');
    expect(alice.pageErrors).toEqual([]);
  });
});
