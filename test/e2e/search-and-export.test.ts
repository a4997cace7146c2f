import { simpleParser } from 'mailparser';
import type { Page, WebSocket as PageSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST_COLUMNS } from '../../core/model';
import { api, downloadCsv, outboxMessages, signIn, stack } from '../integration/client';
import { claimsOf, openBrowser, screenshot, screenshotOnFailure, signedInAs, signInThroughForm, type BrowserSession } from './browser';

/** One user's afternoon in the web app, in order: sign in, search, export three ways, review, sign out. */

const SEARCH = { q: 'vinyl', tags: 'music' };
const PAGE_SIZE = 20;

interface Post {
  id: string;
  content: string;
}
interface SearchBody {
  total: number;
  hits: Post[];
}

let browser: BrowserSession;
let page: Page;
let expectedTotal: number;
let alicesEmail: string;

const formatCount = (n: number) => new Intl.NumberFormat('en').format(n);
const outcome = () => page.locator('.export-outcome');

async function searchThroughApi(pageNumber: number): Promise<SearchBody> {
  const token = await signIn('alice');
  const query = new URLSearchParams({ ...SEARCH, page: String(pageNumber), pageSize: String(PAGE_SIZE) });
  const { status, body } = await api<SearchBody>(token, 'GET', `/search?${query}`);
  expect(status).toBe(200);
  return body;
}

async function chooseExport(delivery: 'Download' | 'Email me a link' | 'Notify me here') {
  await page.getByRole('button', { name: /^Export results/ }).click();
  await page.getByRole('menuitem', { name: new RegExp(`^${delivery}`) }).click();
}

/** Post texts shown in the results table, in order. */
const shownContents = () => page.locator('.results-table tbody td[data-label="Post"]').allTextContents();

screenshotOnFailure(() => page);

beforeAll(async () => {
  const token = await signIn('alice');
  alicesEmail = String(claimsOf(token).email);
  expectedTotal = (await searchThroughApi(1)).total;
  // The scenario needs more than one page of results and a small enough file to read whole.
  expect(expectedTotal).toBeGreaterThan(PAGE_SIZE * 2);
  browser = await openBrowser();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
});

describe('signing in', () => {
  it('refuses a wrong password in plain words', async () => {
    await signInThroughForm(page, 'alice', 'not-the-password');
    await page.getByRole('alert').filter({ hasText: 'That username and password did not match.' }).waitFor();
    await screenshot(page, '01-sign-in-wrong-password');
  });

  it('signs alice in and shows who is signed in', async () => {
    await page.goto(`${stack().url}/`);
    await page.getByRole('heading', { name: 'Sign in to Ferry' }).waitFor();
    await screenshot(page, '00-sign-in');
    await signedInAs(page, 'alice');
    await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents()).resolves.toEqual(['Search', 'Exports', 'Import', 'Imports', 'Resources']);
  });
});

describe('searching', () => {
  it('finds posts by text and tag, shows the total and pages through them', async () => {
    // Exact: the Exports panel's items (listed from the server) carry labels naming their searches.
    await page.getByLabel('Text', { exact: true }).fill(SEARCH.q);
    await page.getByLabel('Tags', { exact: true }).fill(SEARCH.tags);
    await page.getByRole('button', { name: 'Search', exact: true }).click();

    const pages = Math.ceil(expectedTotal / PAGE_SIZE);
    await page.getByText(`${formatCount(expectedTotal)} posts found`).waitFor();
    await page.getByText(`Page 1 of ${formatCount(pages)}`).waitFor();
    expect(await shownContents()).toEqual((await searchThroughApi(1)).hits.map((p) => p.content));
    await expect(page.getByRole('button', { name: /^Export results/ }).textContent()).resolves.toContain(formatCount(expectedTotal));
    await screenshot(page, '02-search-results');

    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByText(`Page 2 of ${formatCount(pages)}`).waitFor();
    await page.locator('.results[aria-busy="false"]').waitFor();
    expect(await shownContents()).toEqual((await searchThroughApi(2)).hits.map((p) => p.content));

    await page.getByRole('button', { name: '← Previous' }).click();
    await page.getByText(`Page 1 of ${formatCount(pages)}`).waitFor();
    await page.locator('.results[aria-busy="false"]').waitFor();
    expect(await shownContents()).toEqual((await searchThroughApi(1)).hits.map((p) => p.content));
  });
});

describe('exporting the results', () => {
  it('Download offers the CSV of the whole search once it is ready', async () => {
    await chooseExport('Download');
    const link = outcome().getByRole('link', { name: 'Download file' });
    await link.waitFor({ timeout: 120_000 });
    await screenshot(page, '03-export-download-ready');

    const csv = await downloadCsv(String(await link.getAttribute('href')));
    expect(csv.text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0]).toBe(POST_COLUMNS.join(','));
    expect(csv.rows).toHaveLength(expectedTotal);
    expect(await outcome().textContent()).toContain(`${formatCount(expectedTotal)} rows`);
  });

  it('Email me a link says where the link went, and the mail holds a working link', async () => {
    const before = outboxMessages().length;
    await chooseExport('Email me a link');
    await outcome().getByText(alicesEmail).waitFor();
    await outcome()
      .getByText(/Sent: a link to your CSV/)
      .waitFor({ timeout: 120_000 });
    await screenshot(page, '04-export-email-sent');

    await expect.poll(() => outboxMessages().length, { timeout: 30_000 }).toBeGreaterThan(before);
    const newest = await simpleParser(outboxMessages().at(-1)!);
    expect(newest.to && !Array.isArray(newest.to) ? newest.to.text : '').toContain(alicesEmail);
    const link = /https?:\/\/\S+X-Amz-Signature=[^\s"<>]+/.exec(newest.text ?? '')?.[0];
    expect(link, 'a signed download link in the mail').toBeDefined();
    const csv = await downloadCsv(link!);
    expect(csv.rows).toHaveLength(expectedTotal);
  });

  it('Notify me here shows the link that the WebSocket pushes, without polling', async () => {
    const frames: string[] = [];
    const statusChecks: string[] = [];
    const sockets: PageSocket[] = [];
    page.on('websocket', (socket) => {
      sockets.push(socket);
      socket.on('framereceived', ({ payload }) => frames.push(payload.toString()));
    });
    page.on('request', (request) => {
      if (request.method() === 'GET' && request.url().includes('/api/download-request/')) statusChecks.push(request.url());
    });
    await chooseExport('Notify me here');

    const link = outcome().getByRole('link', { name: 'Download file' });
    await link.waitFor({ timeout: 120_000 });
    const href = String(await link.getAttribute('href'));
    const pushed = frames.map((f) => JSON.parse(f) as Record<string, unknown>).find((m) => m.type === 'export.ready');
    expect(pushed, 'an export.ready frame on the socket').toBeDefined();
    expect(sockets).toHaveLength(1);
    expect(pushed!.url).toBe(href);
    expect(statusChecks).toEqual([]);

    const csv = await downloadCsv(href);
    expect(csv.rows).toHaveLength(expectedTotal);
  });

  it('lists the three exports in the Exports panel with their expiry', async () => {
    const panel = page.getByRole('region', { name: 'Exports' });
    const items = panel.getByRole('listitem');
    // The list is the server's, newest first: this scenario's three exports lead it (another file's may follow).
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    const texts = (await items.allTextContents()).slice(0, 3);
    for (const delivery of ['Download', 'Email link', 'Notify here']) {
      expect(texts.some((t) => t.includes(delivery))).toBe(true);
    }
    for (const text of texts) {
      expect(text).toContain('Ready');
      expect(text).toContain(`${formatCount(expectedTotal)} rows`);
      expect(text).toMatch(/expires \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in \d+ h\)/);
    }
    await screenshot(page, '05-exports-panel');
  });

  it('shows the same exports in a new browser context: the list lives on the server, not in this browser', async () => {
    const fresh = await openBrowser();
    try {
      await signedInAs(fresh.page, 'alice');
      const items = fresh.page.getByRole('region', { name: 'Exports' }).getByRole('listitem');
      await expect.poll(() => items.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      const texts = (await items.allTextContents()).slice(0, 3);
      for (const delivery of ['Download', 'Email link', 'Notify here']) expect(texts.some((t) => t.includes(delivery))).toBe(true);
      expect(await fresh.page.evaluate<string | null>("localStorage.getItem('ferry.exports.alice')")).toBeNull();
    } finally {
      await fresh.close();
    }
  });

  it('fits a 375 px wide phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    try {
      await page.getByRole('heading', { name: 'Search posts' }).waitFor();
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow, 'no sideways scrolling at 375 px').toBeLessThanOrEqual(0);
      await screenshot(page, '06-search-mobile-375', { fullPage: false });
      await page.getByRole('region', { name: 'Exports' }).scrollIntoViewIfNeeded();
      await screenshot(page, '06-exports-mobile-375', { fullPage: false });
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
});

describe('the import page', () => {
  it('offers a drop zone and a labelled file chooser', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Import', exact: true }).click();
    await page.getByRole('heading', { name: 'Import posts' }).waitFor();
    await expect(page.getByLabel('Choose files').getAttribute('type')).resolves.toBe('file');
    await screenshot(page, '09-import');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Search posts' }).waitFor();
  });
});

describe('signing out', () => {
  it('returns to the sign-in page and forgets the user', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Ferry' }).waitFor();
    expect(await page.getByText('Signed in as').count()).toBe(0);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Ferry' }).waitFor();
    expect(browser.pageErrors).toEqual([]);
  });
});
