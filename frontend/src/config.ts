/** Runtime configuration, fetched from /config.json at start so one build serves every environment. */
export type AuthConfig =
  | { mode: 'local' }
  | {
      mode: 'cognito';
      userPoolId: string;
      userPoolClientId: string;
      region: string;
      userPoolEndpoint?: string;
      /** How the password is proven: SRP (the default; it never leaves the browser) or USER_PASSWORD_AUTH. */
      authFlow?: CognitoAuthFlow;
    };

export type CognitoAuthFlow = 'USER_SRP_AUTH' | 'USER_PASSWORD_AUTH';

export interface RuntimeConfig {
  apiUrl: string;
  wsUrl: string;
  auth: AuthConfig;
}

export class ConfigError extends Error {}

export async function loadConfig(fetchFn: typeof fetch, url = './config.json'): Promise<RuntimeConfig> {
  let response: Response;
  try {
    response = await fetchFn(url, { cache: 'no-store' });
  } catch {
    throw new ConfigError('Ferry could not load its settings: the server did not answer.');
  }
  if (!response.ok) throw new ConfigError(`Ferry could not load its settings (HTTP ${response.status}).`);
  const raw: unknown = await response.json().catch(() => undefined);
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): RuntimeConfig {
  const fail = (what: string) => new ConfigError(`Ferry's settings are incomplete: ${what}.`);
  if (!isRecord(raw)) throw fail('config.json is not an object');
  const { apiUrl, wsUrl, auth } = raw;
  if (typeof apiUrl !== 'string' || !apiUrl) throw fail('apiUrl is missing');
  if (typeof wsUrl !== 'string' || !wsUrl) throw fail('wsUrl is missing');
  if (!isRecord(auth)) throw fail('auth is missing');
  const base = { apiUrl: apiUrl.replace(/\/+$/, ''), wsUrl };
  if (auth.mode === 'local') return { ...base, auth: { mode: 'local' } };
  if (auth.mode === 'cognito') {
    const { userPoolId, userPoolClientId, region } = auth;
    if (typeof userPoolId !== 'string' || typeof userPoolClientId !== 'string' || typeof region !== 'string') {
      throw fail('auth.userPoolId, auth.userPoolClientId and auth.region are required for Cognito');
    }
    // Only for an emulator of Cognito (moto_server); unset in AWS.
    const endpoint = typeof auth.userPoolEndpoint === 'string' && auth.userPoolEndpoint ? { userPoolEndpoint: auth.userPoolEndpoint } : {};
    const { authFlow } = auth;
    if (authFlow !== undefined && authFlow !== 'USER_SRP_AUTH' && authFlow !== 'USER_PASSWORD_AUTH') {
      throw fail('auth.authFlow must be "USER_SRP_AUTH" or "USER_PASSWORD_AUTH"');
    }
    return { ...base, auth: { mode: 'cognito', userPoolId, userPoolClientId, region, ...endpoint, ...(authFlow ? { authFlow } : {}) } };
  }
  throw fail('auth.mode must be "local" or "cognito"');
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
