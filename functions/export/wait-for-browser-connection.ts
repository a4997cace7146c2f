import { waitForBrowserConnection, type BrowserWaitInput } from '../../core/export';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Wait for browser connection" (waitForTaskToken): parks the token; the browser's $connect may resume it instead. */
export const makeHandler = (deps: Parameters<typeof waitForBrowserConnection>[0]) => async (event: BrowserWaitInput) => {
  await waitForBrowserConnection(deps, event);
  log.info({ executionArn: event.executionArn }, 'waiting for browser connection');
};

export const handler = async (event: BrowserWaitInput, _context?: unknown) => makeHandler(await getDeps())(event);
