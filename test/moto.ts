import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../infra/local/free-port';

/**
 * moto_server (`pip install "moto[server]"`) on a free loopback port: the emulator of the AWS-only
 * APIs (Cognito user pools, SES v2). Each test file starts its own and stops it in afterAll.
 */
export interface MotoServer {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-p', String(port), '-H', '127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}: ${log}`);
    const up = await fetch(`${endpoint}/moto-api/data.json`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { endpoint, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer on ${endpoint} within 60 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One call of the Cognito user-pool API (JSON 1.1); moto checks no signature, so none is made. */
export async function cognito<T = Record<string, unknown>>(endpoint: string, action: string, body: Record<string, unknown>): Promise<T> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityProviderService.${action}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Cognito ${action}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

export interface TestPool {
  userPoolId: string;
  clientId: string;
}

/** A pool with an app client that allows USER_PASSWORD_AUTH and SRP (Amplify's default), and the given users. */
export async function createPool(
  endpoint: string,
  name: string,
  users: Array<{ username: string; password: string; email: string; groups: string[] }>,
): Promise<TestPool> {
  const { UserPool } = await cognito<{ UserPool: { Id: string } }>(endpoint, 'CreateUserPool', { PoolName: name });
  const userPoolId = UserPool.Id;
  const { UserPoolClient } = await cognito<{ UserPoolClient: { ClientId: string } }>(endpoint, 'CreateUserPoolClient', {
    UserPoolId: userPoolId,
    ClientName: `${name}-web`,
    ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    // moto puts an attribute into ID tokens only when the client may read it (AWS: all readable by default).
    ReadAttributes: ['email'],
  });
  for (const group of new Set(users.flatMap((u) => u.groups))) {
    await cognito(endpoint, 'CreateGroup', { UserPoolId: userPoolId, GroupName: group });
  }
  for (const user of users) {
    await cognito(endpoint, 'AdminCreateUser', {
      UserPoolId: userPoolId,
      Username: user.username,
      MessageAction: 'SUPPRESS',
      UserAttributes: [
        { Name: 'email', Value: user.email },
        { Name: 'email_verified', Value: 'true' },
      ],
    });
    await cognito(endpoint, 'AdminSetUserPassword', {
      UserPoolId: userPoolId,
      Username: user.username,
      Password: user.password,
      Permanent: true,
    });
    for (const group of user.groups) {
      await cognito(endpoint, 'AdminAddUserToGroup', { UserPoolId: userPoolId, Username: user.username, GroupName: group });
    }
  }
  return { userPoolId, clientId: UserPoolClient.ClientId };
}

/** An ID token through USER_PASSWORD_AUTH, as a non-browser client of the pool gets one. */
export async function passwordSignIn(endpoint: string, pool: TestPool, username: string, password: string): Promise<string> {
  const { AuthenticationResult } = await cognito<{ AuthenticationResult: { IdToken: string } }>(endpoint, 'InitiateAuth', {
    ClientId: pool.clientId,
    AuthFlow: 'USER_PASSWORD_AUTH',
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  return AuthenticationResult.IdToken;
}
