import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { beforeEach } from 'vitest';
import { stack } from '../integration/client';
import { CHROMIUM_PATH } from '../requirements';

/** Debian's Chromium (`apt-get install chromium`); no browser is ever downloaded. */
const CHROMIUM = CHROMIUM_PATH;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in the page: any of them is a bug, even when the screen looks right. */
  pageErrors: Error[];
  close(): Promise<void>;
}

/** A fresh Chromium profile (its own --user-data-dir), so no session or export list leaks between tests. */
export async function openBrowser(viewport = { width: 1280, height: 900 }): Promise<BrowserSession> {
  const home = await fetch(`${stack().url}/`).then((r) => r.text());
  if (home.includes('not built yet')) throw new Error('frontend/dist is missing: run `npm run build:web` before the e2e tests');

  const profile = mkdtempSync(join(tmpdir(), 'ferry-e2e-profile-'));
  // Playwright passes the profile as --user-data-dir itself and refuses it among `args`.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  return {
    context,
    page,
    pageErrors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function signInThroughForm(page: Page, username: string, password = 'ferry'): Promise<void> {
  await page.goto(`${stack().url}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in and waits for the app's header to name the user. */
export async function signedInAs(page: Page, username: string): Promise<void> {
  await signInThroughForm(page, username);
  await page.locator('header .who', { hasText: `Signed in as ${username}` }).waitFor();
}

/** A full-page PNG under test/e2e/screenshots/ (git-ignored), for a person to look at. */
export async function screenshot(page: Page, name: string, { fullPage = true } = {}): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

/** The decoded claims of an ID token (no verification: the server already issued it to us). */
export function claimsOf(idToken: string): Record<string, unknown> {
  const payload = idToken.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** On a failing test, a screenshot of what the page showed at that moment (`failed-<test name>.png`). */
export function screenshotOnFailure(currentPage: () => Page | undefined): void {
  beforeEach(({ task, onTestFailed }) => {
    onTestFailed(async () => {
      const page = currentPage();
      if (page && !page.isClosed())
        await screenshot(page, `failed-${task.name.replace(/[^\w-]+/g, '-').slice(0, 80)}`).catch(() => undefined);
    });
  });
}
