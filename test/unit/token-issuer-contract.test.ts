import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { createTokenVerifier } from '../../functions/auth';
import { createLocalAuth } from '../../infra/local/local-auth';
import { createPool, passwordSignIn, startMoto, type MotoServer, type TestPool } from '../moto';
import { motoMissing, titled } from '../requirements';
import { describeTokenIssuer } from './specs/token-issuer-spec';

/** One token contract, two homes: the local issuer (its JWKS served over HTTP, as the gateway does) and a Cognito user pool on moto_server. */

describeTokenIssuer('the local token issuer', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-issuer-'));
  const issuer = 'http://127.0.0.1/api/local';
  const auth = await createLocalAuth({ dataDir, issuer, password: 'ferry' });
  const jwks = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(auth.jwks)));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  return {
    port: createTokenVerifier({ issuer, audience: auth.audience, jwksUrl }),
    signIn: (username, password) => auth.issueToken(username, password),
    member: { username: 'alice', email: 'alice@ferry.local', password: 'ferry' },
    admin: { username: 'admin', email: 'admin@ferry.local', password: 'ferry' },
    cleanup: async () => {
      await new Promise((resolve) => jwks.close(resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

const why = motoMissing();
describe.skipIf(why)(titled('Cognito on moto_server', why), () => {
  const PASSWORD = 'Ferry-pass-1!';
  let moto: MotoServer | undefined;
  let pool: TestPool | undefined;

  beforeAll(async () => {
    moto = await startMoto();
    pool = await createPool(moto.endpoint, 'ferry-contract', [
      { username: 'alice', password: PASSWORD, email: 'alice@ferry.test', groups: ['member'] },
      { username: 'admin', password: PASSWORD, email: 'admin@ferry.test', groups: ['admin'] },
    ]);
  }, 90_000);

  afterAll(async () => {
    await moto?.stop();
  });

  describeTokenIssuer('a Cognito user pool', async () => ({
    // As functions/config.ts derives it for AUTH_MODE=cognito with COGNITO_ENDPOINT: Cognito's issuer, the emulator's JWKS.
    port: createTokenVerifier({
      issuer: `https://cognito-idp.us-east-1.amazonaws.com/${pool!.userPoolId}`,
      audience: pool!.clientId,
      jwksUrl: `${moto!.endpoint}/${pool!.userPoolId}/.well-known/jwks.json`,
    }),
    signIn: (username, password) => passwordSignIn(moto!.endpoint, pool!, username, password).catch(() => undefined),
    member: { username: 'alice', email: 'alice@ferry.test', password: PASSWORD },
    admin: { username: 'admin', email: 'admin@ferry.test', password: PASSWORD },
  }));
});
