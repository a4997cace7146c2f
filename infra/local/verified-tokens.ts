import type { JWTPayload } from 'jose';
import type { TokenVerifier } from '../../functions/auth';

type Verified = Awaited<ReturnType<TokenVerifier['verify']>>;

/** Each caller's own user and claims (their arrays too; structuredClone costs several times more per request). */
const copyOf = ({ user, claims }: Verified): Verified => ({
  user: { ...user, groups: [...user.groups] },
  claims: Object.fromEntries(Object.entries(claims).map(([name, value]) => [name, Array.isArray(value) ? [...(value as unknown[])] : value])),
});

/** Tokens remembered at once; past it the oldest is forgotten (verified again when it comes back). */
const MAX_REMEMBERED = 10_000;

/**
 * The local gateway's JWT authorizer, verifying each token once: a token that verified (signature, issuer,
 * audience, token_use) keeps the same answer until its `exp`, so later requests with it skip the signature
 * check, as API Gateway's authorizer caches JWKS and results. Its time claims are checked on every use: past
 * `exp` (or before `nbf`) it is verified afresh, and fails as it would have. Failures are never remembered, nor
 * tokens without an `exp`.
 */
export function rememberVerifiedTokens(verifier: TokenVerifier, now: () => number = Date.now): TokenVerifier {
  const verified = new Map<string, { result: Verified; claims: JWTPayload }>();
  const stillValid = ({ exp, nbf }: JWTPayload) => typeof exp === 'number' && now() < exp * 1000 && (nbf === undefined || nbf * 1000 <= now());
  return {
    async verify(token) {
      const known = verified.get(token);
      if (known && stillValid(known.claims)) return copyOf(known.result);
      verified.delete(token);
      const result = await verifier.verify(token);
      if (stillValid(result.claims)) {
        if (verified.size >= MAX_REMEMBERED) verified.delete(verified.keys().next().value!);
        verified.set(token, { result: copyOf(result), claims: result.claims });
      }
      return result;
    },
  };
}
