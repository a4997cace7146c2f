import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, screenshot, screenshotOnFailure, signedInAs, type BrowserSession } from './browser';
import { clamdMissing, titled } from '../requirements';

let browser: BrowserSession;
let page: Page;
let files: string;

/** A word no seeded post contains, so a search for it finds exactly the imported rows. */
const marker = `quokka${Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')}`;
const cleanRows = [
  ['alice', '2025-06-01T10:00:00.000Z', `First ${marker} post from the import test`, 'travel;weekend'],
  ['alice', '2025-06-02T11:30:00.000Z', `Second ${marker} post, with a comma`, 'books'],
  ['alice', '2025-06-03T09:15:00.000Z', `Third ${marker} post`, ''],
];
const csvCell = (cell: string) => (/[",\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);

/** The EICAR anti-virus test string, assembled here so that this source file is not itself flagged. */
const eicar = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-', 'TEST-FILE!$H+H*'].join('');

const uploadItem = (name: string) => page.getByRole('list', { name: 'Uploads' }).getByRole('listitem', { name });

async function upload(path: string) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Import', exact: true }).click();
  await page.getByRole('heading', { name: 'Import posts' }).waitFor();
  await page.getByLabel('Choose files').setInputFiles(path);
}

screenshotOnFailure(() => page);

beforeAll(async () => {
  files = mkdtempSync(join(tmpdir(), 'ferry-e2e-files-'));
  const header = 'userId,dateCreated,content,tags';
  writeFileSync(join(files, 'clean-posts.csv'), [header, ...cleanRows.map((row) => row.map(csvCell).join(','))].join('\n') + '\n');
  writeFileSync(join(files, 'eicar.csv'), eicar);
  browser = await openBrowser();
  page = browser.page;
  await signedInAs(page, 'alice');
});

afterAll(async () => {
  await browser?.close();
  if (files) rmSync(files, { recursive: true, force: true });
});

describe.skipIf(clamdMissing())(titled('importing files', clamdMissing()), () => {
  it('imports a clean CSV with a green check, and its rows are found by search', async () => {
    await upload(join(files, 'clean-posts.csv'));
    const item = uploadItem('clean-posts.csv');
    await item.getByText(`Imported ${cleanRows.length} rows (${cleanRows.length} new, 0 updated, 0 unchanged).`).waitFor({ timeout: 120_000 });
    expect(await item.locator('.icon.ok').isVisible()).toBe(true);
    await screenshot(page, '10-import-clean');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
    await page.getByLabel('Text', { exact: true }).fill(marker);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText(`${cleanRows.length} posts found`).waitFor();
    const shown = await page.locator('.results-table tbody td[data-label="Post"]').allTextContents();
    expect([...shown].sort()).toEqual(cleanRows.map((row) => row[2]).sort());
  });

  it('puts the EICAR test file in quarantine and shows a red cross that says so', async () => {
    await upload(join(files, 'eicar.csv'));
    const item = uploadItem('eicar.csv');
    await item.getByText(/quarantin/i).waitFor({ timeout: 120_000 });
    expect(await item.locator('.icon.bad').isVisible()).toBe(true);
    // The signature clamd named reaches the screen (the status carries it as `signature`).
    expect(await item.textContent()).toMatch(/a virus was found \([^)]*eicar[^)]*\)/i);
    expect(await item.textContent()).not.toMatch(/[{}]/);
    await screenshot(page, '11-import-quarantined');
    expect(browser.pageErrors).toEqual([]);
  });

  it("lists alice's quarantined file on the admin page", async () => {
    const admin = await openBrowser();
    try {
      await signedInAs(admin.page, 'admin');
      await admin.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
      const quarantine = admin.page.getByRole('region', { name: 'Quarantined files' });
      await quarantine.getByRole('row').filter({ hasText: 'eicar.csv' }).filter({ hasText: 'alice' }).waitFor();
      await screenshot(admin.page, '12-admin-quarantine');
      expect(admin.pageErrors).toEqual([]);
    } finally {
      await admin.close();
    }
  });
});
