import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { Unauthorized } from '../core/errors';
import type { User } from '../core/model';

/**
 * ID-token verification. In AWS it checks Cognito tokens (issuer = the user pool, JWKS from Cognito);
 * locally the same code checks the local issuer's tokens. API Gateway's JWT authorizer does the
 * same check for HTTP routes in AWS; the WebSocket $connect handler and the local gateway call this.
 */
export interface TokenVerifier {
  verify(token: string): Promise<{ user: User; claims: JWTPayload }>;
}

export function createTokenVerifier(options: { issuer: string; audience?: string; jwksUrl: string }): TokenVerifier {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, jwks, {
          issuer: options.issuer,
          ...(options.audience ? { audience: options.audience } : {}),
        });
        if (payload.token_use !== undefined && payload.token_use !== 'id') throw new Error('not an ID token');
        return { user: userFromClaims(payload), claims: payload };
      } catch {
        throw new Unauthorized('Your session is not valid any more. Please sign in again.');
      }
    },
  };
}

/** API Gateway's HTTP API passes array claims as a string like "[admin member]"; accept both forms. */
function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return value.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter(Boolean);
  return [];
}

export function userFromClaims(claims: Record<string, unknown>): User {
  const userId = claims.sub;
  if (typeof userId !== 'string' || !userId) throw new Unauthorized('Sign in to continue.');
  const username = typeof claims['cognito:username'] === 'string' ? claims['cognito:username'] : userId;
  const email = typeof claims.email === 'string' ? claims.email : '';
  return { userId, username, email, groups: groupsOf(claims['cognito:groups']) };
}
