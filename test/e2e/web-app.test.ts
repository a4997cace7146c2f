import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../integration/client';
import { openBrowser, screenshotOnFailure, type BrowserSession } from './browser';

/** The web app reached by another host name than the stack's own, and the search page's state, focus and layout. */

let browser: BrowserSession;
let page: Page;
let origin: string;

screenshotOnFailure(() => page);

beforeAll(async () => {
  // The stack names itself http://localhost:<port>; a user may open it at 127.0.0.1 instead.
  origin = `http://127.0.0.1:${new URL(stack().url).port}`;
  browser = await openBrowser();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
});

const resultsSettled = () => page.locator('.results[aria-busy="false"]').waitFor();

describe('the web app opened at 127.0.0.1', () => {
  it('signs alice in, calling the API on the same host', async () => {
    const apiHosts = new Set<string>();
    page.on('request', (request) => {
      if (request.url().includes('/api/')) apiHosts.add(new URL(request.url()).host);
    });
    await page.goto(`${origin}/`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('ferry');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('header .who', { hasText: 'Signed in as alice' }).waitFor();
    await resultsSettled();
    expect([...apiHosts]).toEqual([new URL(origin).host]);
    expect(browser.pageErrors).toEqual([]);
  });
});

describe('the search in the address', () => {
  it('survives a reload and Back returns to the previous search', async () => {
    await page.getByLabel('Text', { exact: true }).fill('vinyl');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/#\/\?q=vinyl$/);
    await resultsSettled();
    const vinylSummary = await page.locator('.results-summary').textContent();

    await page.getByLabel('Tags', { exact: true }).fill('music');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/#\/\?q=vinyl&tags=music$/);
    await resultsSettled();

    await page.reload();
    await page.getByRole('heading', { name: 'Search posts' }).waitFor();
    await expect(page.getByLabel('Tags', { exact: true }).inputValue()).resolves.toBe('music');
    await expect(page.getByLabel('Text', { exact: true }).inputValue()).resolves.toBe('vinyl');

    await page.goBack();
    await page.waitForURL(/#\/\?q=vinyl$/);
    await resultsSettled();
    await expect(page.getByLabel('Tags', { exact: true }).inputValue()).resolves.toBe('');
    // The results may still show the last render's idle state for a moment before Back's search starts: wait for its answer.
    await expect.poll(() => page.locator('.results-summary').textContent(), { timeout: 15_000 }).toBe(vinylSummary);
  });
});

describe('the search page', () => {
  it('draws no focus box around the heading focused after keyboard navigation', async () => {
    const importLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Import', exact: true });
    await importLink.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Import posts' }).waitFor();
    // A string, as the other e2e tests do: the tests' TypeScript has no DOM library.
    const focused = await page.evaluate<{ tag: string; outline: string; shadow: string }>(
      '(() => { const e = document.activeElement; const s = getComputedStyle(e); return { tag: e.tagName, outline: s.outlineStyle, shadow: s.boxShadow }; })()',
    );
    expect(focused).toEqual({ tag: 'H1', outline: 'none', shadow: 'none' });
  });

  it('shows every author name whole', async () => {
    await page.goto(`${origin}/#/?q=vinyl`);
    await resultsSettled();
    const cells = page.locator('.results-table tbody td[data-label="Author"]');
    expect(await cells.count()).toBeGreaterThan(0);
    const clipped = await cells.evaluateAll((tds) => tds.filter((td) => td.scrollWidth > td.clientWidth).map((td) => td.textContent));
    expect(clipped).toEqual([]);
  });
});
