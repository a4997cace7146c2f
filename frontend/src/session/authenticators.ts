import type { AuthConfig } from '../config';
import { ApiError, serverMessageOf } from '../lib/errors';

/** How a username and password become an ID token: the local token route or Cognito. */
export interface Authenticator {
  readonly mode: AuthConfig['mode'];
  signIn(username: string, password: string): Promise<string>;
  signOut(): Promise<void>;
  /** A fresh ID token before the current one expires; undefined when this mode cannot renew (sign in again). */
  refresh(): Promise<string | undefined>;
}

/** The local stack's demo sign-in: `POST {apiUrl}/local/token` → `{"idToken"}`. */
export class LocalAuthenticator implements Authenticator {
  readonly mode = 'local' as const;
  constructor(
    private readonly apiUrl: string,
    private readonly fetchFn: typeof fetch,
  ) {}

  async signIn(username: string, password: string): Promise<string> {
    let response: Response;
    try {
      response = await this.fetchFn(`${this.apiUrl}/local/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ username, password }),
      });
    } catch {
      throw new ApiError(0);
    }
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      throw new Error('That username and password did not match. Please try again.');
    }
    if (!response.ok) throw new ApiError(response.status, await serverMessageOf(response));
    const body = (await response.json()) as { idToken?: unknown };
    if (typeof body.idToken !== 'string') throw new ApiError(500);
    return body.idToken;
  }

  async signOut(): Promise<void> {}

  /** The local issuer's tokens last 8 hours; there is nothing to renew them with. */
  async refresh(): Promise<string | undefined> {
    return undefined;
  }
}

/** Cognito through aws-amplify, loaded only when configured so local builds never fetch it. */
export class CognitoAuthenticator implements Authenticator {
  readonly mode = 'cognito' as const;
  private configured?: Promise<typeof import('aws-amplify/auth')>;

  constructor(private readonly config: Extract<AuthConfig, { mode: 'cognito' }>) {}

  private auth(): Promise<typeof import('aws-amplify/auth')> {
    this.configured ??= (async () => {
      const [{ Amplify }, auth] = await Promise.all([import('aws-amplify'), import('aws-amplify/auth')]);
      Amplify.configure({
        Auth: {
          Cognito: {
            userPoolId: this.config.userPoolId,
            userPoolClientId: this.config.userPoolClientId,
            ...(this.config.userPoolEndpoint ? { userPoolEndpoint: this.config.userPoolEndpoint } : {}),
          },
        },
      });
      return auth;
    })();
    return this.configured;
  }

  async signIn(username: string, password: string): Promise<string> {
    const auth = await this.auth();
    // A stale Amplify session would make signIn throw UserAlreadyAuthenticatedException.
    await auth.signOut().catch(() => undefined);
    try {
      const result = await auth.signIn({ username, password, options: { authFlowType: this.config.authFlow ?? 'USER_SRP_AUTH' } });
      if (!result.isSignedIn) {
        throw new Error(`Your account needs one more step before you can sign in (${result.nextStep.signInStep}).`);
      }
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'NotAuthorizedException' || name === 'UserNotFoundException') {
        throw new Error('That username and password did not match. Please try again.', { cause: error });
      }
      throw error;
    }
    const session = await auth.fetchAuthSession();
    const idToken = session.tokens?.idToken?.toString();
    if (!idToken) throw new Error('Signed in, but no ID token came back. Please try again.');
    return idToken;
  }

  async signOut(): Promise<void> {
    const auth = await this.auth();
    await auth.signOut();
  }

  /** Amplify trades the refresh token for new tokens (REFRESH_TOKEN_AUTH); forced, since ours is not expired yet. */
  async refresh(): Promise<string | undefined> {
    const auth = await this.auth();
    const session = await auth.fetchAuthSession({ forceRefresh: true });
    return session.tokens?.idToken?.toString();
  }
}
