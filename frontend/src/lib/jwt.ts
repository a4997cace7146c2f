/** The claims Ferry reads from an ID token. The server verifies the signature; the app only displays. */
export interface TokenClaims {
  sub?: string;
  username: string;
  email?: string;
  groups: string[];
  /** Seconds since the epoch. */
  exp?: number;
}

export function decodeClaims(idToken: string): TokenClaims {
  const payload = idToken.split('.')[1];
  if (!payload) throw new Error('The sign-in token is malformed.');
  const json = new TextDecoder().decode(base64UrlDecode(payload));
  const raw = JSON.parse(json) as Record<string, unknown>;
  const groups = raw['cognito:groups'];
  const username =
    str(raw['cognito:username']) ?? str(raw['username']) ?? str(raw['preferred_username']) ?? str(raw['email']) ?? str(raw['sub']);
  return {
    sub: str(raw['sub']),
    username: username ?? 'unknown user',
    email: str(raw['email']),
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
    exp: typeof raw['exp'] === 'number' ? raw['exp'] : undefined,
  };
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);

function base64UrlDecode(input: string): Uint8Array {
  const base64 = input.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(input.length / 4) * 4, '=');
  const binary = atob(base64);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
