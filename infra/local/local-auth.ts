import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { CognitoPool } from '../../functions/config';

/**
 * The local stand-in for Cognito: the seeded users, an RS256 key kept under the data directory,
 * its JWKS, and ID tokens shaped like Cognito's (sub, cognito:username, email, cognito:groups).
 */
export const LOCAL_USERS = [
  { username: 'alice', email: 'alice@ferry.local', groups: ['member'] },
  { username: 'bob', email: 'bob@ferry.local', groups: ['member'] },
  // A third member, so sharing can be shown to stop at the people named.
  { username: 'carol', email: 'carol@ferry.local', groups: ['member'] },
  { username: 'admin', email: 'admin@ferry.local', groups: ['admin'] },
] as const;

export const LOCAL_AUDIENCE = 'ferry-local';

export interface LocalAuth {
  issuer: string;
  audience: string;
  jwks: { keys: JWK[] };
  /** Undefined for an unknown user or a wrong password. */
  issueToken(username: string, password: string): Promise<string | undefined>;
}

export async function createLocalAuth(options: { dataDir: string; issuer: string; password: string }): Promise<LocalAuth> {
  const dir = join(options.dataDir, 'local-auth');
  const keyFile = join(dir, 'signing-key.json');
  let privateJwk: JWK;
  if (existsSync(keyFile)) {
    privateJwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
  } else {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: `local-${Date.now()}`, alg: 'RS256', use: 'sig' };
    mkdirSync(dir, { recursive: true });
    writeFileSync(keyFile, JSON.stringify(privateJwk), { mode: 0o600 });
  }
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const signingKey = await importJWK(privateJwk, 'RS256');
  const expected = Buffer.from(options.password);

  return {
    issuer: options.issuer,
    audience: LOCAL_AUDIENCE,
    jwks: { keys: [publicJwk] },
    async issueToken(username, password) {
      const user = LOCAL_USERS.find((u) => u.username === username);
      const given = Buffer.from(password);
      if (!user || given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      return new SignJWT({
        'cognito:username': user.username,
        email: user.email,
        'cognito:groups': [...user.groups],
        token_use: 'id',
      })
        .setProtectedHeader({ alg: 'RS256', kid: publicJwk.kid })
        .setSubject(user.username)
        .setIssuer(options.issuer)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('8h')
        .sign(signingKey);
    },
  };
}

/** The web app's sign-in settings in /config.json when a Cognito user pool (or moto_server's) signs people in. */
export function cognitoWebAuth(pool: CognitoPool) {
  return {
    mode: 'cognito',
    userPoolId: pool.userPoolId,
    userPoolClientId: pool.clientId,
    region: pool.region,
    ...(pool.endpoint ? { userPoolEndpoint: pool.endpoint } : {}),
    ...(pool.authFlow ? { authFlow: pool.authFlow } : {}),
  } as const;
}
