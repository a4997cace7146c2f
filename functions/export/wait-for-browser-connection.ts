import { waitForBrowserConnection, type BrowserWaitInput } from '../../core/export/rendezvous';
import { wired } from '../composition';
import { executions } from '../ports/executions';
import { rendezvous } from '../ports/rendezvous';
import { task } from '../task';

/** "Wait for browser connection" (waitForTaskToken): parks the token; the browser's $connect may resume it instead. */
export const makeHandler = (deps: Parameters<typeof waitForBrowserConnection>[0]) =>
  task('Wait for browser connection', (event: BrowserWaitInput) => waitForBrowserConnection(deps, event));

export const handler = wired({ rendezvous, executions }, makeHandler);
