import { isRecord } from '../../../core/guards';

/** A Host header that names a host (a DNS name, IPv4 or bracketed IPv6) and maybe a port, nothing else. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The web app's /config.json for the host the browser reached the gateway by. The stack writes the URLs
 * with `localhost`; a browser that opened http://127.0.0.1:3000 would then call another origin, which it
 * refuses ("Ferry could not be reached"). Any other Host header leaves the config as written.
 */
export function webConfigForHost(webConfig: unknown, ownOrigin: string, host: string | undefined): unknown {
  if (!isRecord(webConfig) || host === undefined || !HOST.test(host)) return webConfig;
  const own = new URL(ownOrigin);
  const rehost = (value: unknown): unknown => {
    if (typeof value !== 'string' || !URL.canParse(value)) return value;
    const url = new URL(value);
    if (url.host !== own.host) return value;
    url.host = host;
    return url.toString().replace(/\/$/, value.endsWith('/') ? '/' : '');
  };
  return { ...webConfig, apiUrl: rehost(webConfig.apiUrl), wsUrl: rehost(webConfig.wsUrl) };
}
