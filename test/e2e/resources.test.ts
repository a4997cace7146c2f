import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, screenshot, screenshotOnFailure, signedInAs, type BrowserSession } from './browser';
import { clamdMissing, titled } from '../requirements';
import { jpeg, pdf, windowsExecutable } from '../fixtures/resource-files';

let browser: BrowserSession;
let page: Page;
const bytes: Record<string, Buffer> = {};

/** Unique names, so rows left by another run of the shared stack are never the ones looked at. */
const run = Math.random().toString(36).slice(2, 8);
const names = { photo: `boundary-${run}.jpg`, deed: `deed-${run}.pdf`, program: `invoice-${run}.pdf` };

const row = (name: string) => page.getByRole('list', { name: 'Resources' }).getByRole('listitem', { name });

screenshotOnFailure(() => page);

beforeAll(async () => {
  bytes[names.photo] = await jpeg(900, 600);
  bytes[names.deed] = pdf('Deed of title, parcel 12/4');
  bytes[names.program] = windowsExecutable();
  browser = await openBrowser();
  page = browser.page;
  await signedInAs(page, 'alice');
});

afterAll(() => browser?.close());

describe.skipIf(clamdMissing())(titled('resources in the web app', clamdMissing()), () => {
  it('uploads three resources: two ✓ (the image with its thumbnail), one ✗ with its reason; one downloads byte for byte', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Resources' }).click();
    await page.getByRole('heading', { name: 'Resources' }).waitFor();
    // As the file picker hands them over: the renamed program claims to be a PDF, as its name says.
    await page.getByLabel('Choose files').setInputFiles([
      { name: names.photo, mimeType: 'image/jpeg', buffer: bytes[names.photo]! },
      { name: names.deed, mimeType: 'application/pdf', buffer: bytes[names.deed]! },
      { name: names.program, mimeType: 'application/pdf', buffer: bytes[names.program]! },
    ]);

    await row(names.photo).getByLabel('Kept').waitFor({ timeout: 120_000 });
    await row(names.deed).getByLabel('Kept').waitFor({ timeout: 120_000 });
    await row(names.program).getByLabel('Not kept').waitFor({ timeout: 120_000 });
    expect(await row(names.program).textContent()).toContain('which is not a type Ferry accepts as a resource');
    expect(await row(names.program).getByRole('link', { name: 'Download' }).count()).toBe(0);

    const thumbnail = row(names.photo).getByRole('img', { name: `Thumbnail of ${names.photo}` });
    await thumbnail.waitFor();
    // The image decoded in the browser (the tsconfig has no DOM types: the element is read structurally).
    await expect.poll(() => thumbnail.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(256);
    await screenshot(page, '20-resources');

    const [download] = await Promise.all([page.waitForEvent('download'), row(names.deed).getByRole('link', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe(names.deed);
    expect(readFileSync(await download.path())).toEqual(bytes[names.deed]);

    // The list is the server's: a reload shows the same outcomes.
    await page.reload();
    await row(names.photo).getByLabel('Kept').waitFor();
    await row(names.program).getByLabel('Not kept').waitFor();
    expect(browser.pageErrors).toEqual([]);
  });
});
