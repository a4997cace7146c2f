import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The host name a browser reached the local gateway by, for the HTTP invocation running now. The local S3
 * listens on loopback, where `localhost` and `127.0.0.1` both reach it: a link presigned during a request
 * names the one the browser used (composition.ts), as the web app's /config.json does (gateway/web-config.ts).
 */
const current = new AsyncLocalStorage<string>();

/** The loopback names the local S3 answers on; any other Host keeps the links as the stack writes them. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1']);

/** Runs `work` with the Host header's name as the browser's host, when it is a loopback name. */
export function withBrowserHost<T>(hostHeader: string | undefined, work: () => T): T {
  const name = hostHeader?.replace(/:\d{1,5}$/, '').toLowerCase();
  return name !== undefined && LOOPBACK_NAMES.has(name) ? current.run(name, work) : work();
}

/** The browser's host name for the request being answered; undefined outside one (workflow tasks). */
export const browserHost = (): string | undefined => current.getStore();
