import { waitForBrowserConnection, type BrowserWaitInput } from '../../core/export/rendezvous';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

/** "Wait for browser connection" (waitForTaskToken): parks the token; the browser's $connect may resume it instead. */
export const makeHandler = (deps: Parameters<typeof waitForBrowserConnection>[0]) =>
  task('Wait for browser connection', (event: BrowserWaitInput) => waitForBrowserConnection(deps, event));

export const handler = async (event: BrowserWaitInput, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
