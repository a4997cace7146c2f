import { decodeClaims, type TokenClaims } from '../lib/jwt';
import type { Authenticator } from './authenticators';

export interface SignedIn {
  idToken: string;
  claims: TokenClaims;
}

export interface SessionSnapshot {
  user?: SignedIn;
  /** Why the person is on the sign-in page, e.g. their session ended. */
  notice?: string;
}

const TOKEN_KEY = 'ferry.idToken';
/** Renew this long before the ID token runs out (Cognito's live an hour), and retry this often if renewing fails. */
const REFRESH_AHEAD_MS = 5 * 60_000;
const REFRESH_RETRY_MS = 30_000;

/**
 * The one session for both sign-in modes: the ID token lives in sessionStorage (gone when the
 * tab closes), its claims give the username, email and `cognito:groups`.
 */
export class Session {
  private snapshot: SessionSnapshot;
  private readonly listeners = new Set<() => void>();
  private refreshTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly storage: Storage = sessionStorage,
    private readonly now: () => number = Date.now,
  ) {
    this.snapshot = { user: this.restore() };
    this.scheduleRefresh();
  }

  get authMode(): Authenticator['mode'] {
    return this.authenticator.mode;
  }

  getSnapshot = (): SessionSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The token for an API call, or undefined once it has expired. */
  token = (): string | undefined => {
    const user = this.snapshot.user;
    if (!user) return undefined;
    if (this.isExpired(user.claims)) {
      this.expire();
      return undefined;
    }
    return user.idToken;
  };

  async signIn(username: string, password: string): Promise<SignedIn> {
    const idToken = await this.authenticator.signIn(username, password);
    const user = { idToken, claims: decodeClaims(idToken) };
    this.storage.setItem(TOKEN_KEY, idToken);
    this.set({ user });
    return user;
  }

  async signOut(): Promise<void> {
    this.storage.removeItem(TOKEN_KEY);
    this.set({});
    await this.authenticator.signOut().catch(() => undefined);
  }

  /** The server refused the token (401) or it ran out: back to sign-in with a word of explanation. */
  expire = (): void => {
    if (!this.snapshot.user) return;
    this.storage.removeItem(TOKEN_KEY);
    this.set({ notice: 'Your session has ended. Please sign in again.' });
  };

  /**
   * Trades the current session for a fresh ID token (Cognito: the refresh token). If that fails the
   * current token stays until it runs out, with retries meanwhile; a sign-out while waiting wins.
   */
  refresh = async (): Promise<void> => {
    const before = this.snapshot.user;
    if (!before) return;
    let idToken: string | undefined;
    try {
      idToken = await this.authenticator.refresh();
    } catch {
      const left = before.claims.exp === undefined ? 0 : before.claims.exp * 1000 - this.now();
      if (this.snapshot.user === before && left > REFRESH_RETRY_MS) this.schedule(REFRESH_RETRY_MS);
      return;
    }
    // Undefined: this mode cannot renew, so the token runs out and the person signs in again.
    if (this.snapshot.user !== before || !idToken) return;
    this.storage.setItem(TOKEN_KEY, idToken);
    this.set({ user: { idToken, claims: decodeClaims(idToken) } });
  };

  private scheduleRefresh(): void {
    const exp = this.snapshot.user?.claims.exp;
    // Never sooner than the retry pause: a browser clock that runs ahead of the pool's must not renew in a loop.
    this.schedule(exp === undefined ? undefined : Math.max(REFRESH_RETRY_MS, exp * 1000 - REFRESH_AHEAD_MS - this.now()));
  }

  private schedule(delayMs: number | undefined): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = delayMs === undefined ? undefined : setTimeout(() => void this.refresh(), delayMs);
  }

  private restore(): SignedIn | undefined {
    const idToken = this.storage.getItem(TOKEN_KEY);
    if (!idToken) return undefined;
    try {
      const claims = decodeClaims(idToken);
      if (this.isExpired(claims)) throw new Error('expired');
      return { idToken, claims };
    } catch {
      this.storage.removeItem(TOKEN_KEY);
      return undefined;
    }
  }

  private isExpired(claims: TokenClaims): boolean {
    return claims.exp !== undefined && claims.exp * 1000 <= this.now();
  }

  private set(snapshot: SessionSnapshot): void {
    this.snapshot = snapshot;
    this.scheduleRefresh();
    for (const listener of this.listeners) listener();
  }
}
