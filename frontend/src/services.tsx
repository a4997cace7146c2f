import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { ApiClient } from './api/client';
import type { RuntimeConfig } from './config';
import { ExportsStore } from './exports/store';
import { DEFAULT_TIMING, type PollTiming } from './exports/poll-timing';
import { ExportTracker, type OpenSocket } from './exports/tracker';
import { ImportQueue, resourceTarget } from './imports/queue';
import { JobNotifier } from './jobs/notifier';
import { xhrUpload, type SendUpload } from './imports/transport';
import { CognitoAuthenticator, LocalAuthenticator } from './session/authenticators';
import { Session, type SignedIn } from './session/session';

/** Everything that talks to the outside world, built once at start and injectable in tests. */
export interface Services {
  config: RuntimeConfig;
  session: Session;
  api: ApiClient;
  openSocket: OpenSocket;
  sendUpload: SendUpload;
  timing: PollTiming;
  /** Where the Exports list is kept between visits. */
  storage: Storage;
  now: () => number;
}

export interface ServiceOverrides {
  fetch?: typeof fetch;
  openSocket?: OpenSocket;
  sendUpload?: SendUpload;
  timing?: PollTiming;
  storage?: Storage;
  sessionStorage?: Storage;
  now?: () => number;
}

export function createServices(config: RuntimeConfig, overrides: ServiceOverrides = {}): Services {
  const fetchFn = overrides.fetch ?? globalThis.fetch.bind(globalThis);
  const authenticator =
    config.auth.mode === 'cognito' ? new CognitoAuthenticator(config.auth) : new LocalAuthenticator(config.apiUrl, fetchFn);
  const now = overrides.now ?? Date.now;
  const session = new Session(authenticator, overrides.sessionStorage ?? sessionStorage, now);
  const api = new ApiClient({ apiUrl: config.apiUrl, fetch: fetchFn, token: session.token, onUnauthorized: session.expire });
  return {
    config,
    session,
    api,
    openSocket: overrides.openSocket ?? ((url) => new WebSocket(url)),
    sendUpload: overrides.sendUpload ?? xhrUpload,
    timing: overrides.timing ?? DEFAULT_TIMING,
    storage: overrides.storage ?? localStorage,
    now,
  };
}

const ServicesContext = createContext<Services | null>(null);

export const ServicesProvider = ({ services, children }: { services: Services; children: ReactNode }) => (
  <ServicesContext.Provider value={services}>{children}</ServicesContext.Provider>
);

export function useServices(): Services {
  const services = useContext(ServicesContext);
  if (!services) throw new Error('useServices outside ServicesProvider');
  return services;
}

/** What exists only while someone is signed in: their exports and uploads. */
export interface UserServices {
  user: SignedIn;
  exports: ExportsStore;
  tracker: ExportTracker;
  imports: ImportQueue;
  /** Resource uploads (the Resources page); their outcomes come from the server's list. */
  resources: ImportQueue;
  /** The toasts of jobs that finished. */
  notifier: JobNotifier;
}

const UserContext = createContext<UserServices | null>(null);

export function UserServicesProvider({ user, children }: { user: SignedIn; children: ReactNode }) {
  const services = useServices();
  const username = user.claims.username;
  const value = useMemo(() => {
    const exports = new ExportsStore(services.api, services.now);
    const tracker = new ExportTracker({
      api: services.api,
      store: exports,
      openSocket: services.openSocket,
      wsUrl: services.config.wsUrl,
      token: services.session.token,
      timing: services.timing,
      now: services.now,
    });
    const imports = new ImportQueue({ api: services.api, send: services.sendUpload, timing: services.timing });
    const resources = new ImportQueue({
      api: services.api,
      send: services.sendUpload,
      timing: services.timing,
      target: resourceTarget(services.api),
    });
    const notifier = new JobNotifier(
      { exports: () => exports.load(), imports: (limit) => services.api.listImports(limit), tracked: exports },
      services.timing.jobsMs ?? 5000,
      services.now,
    );
    return { exports, tracker, imports, resources, notifier };
  }, [services, username]);

  useEffect(() => {
    value.tracker.resume();
    value.notifier.start();
    // The list comes from the server; the running ones it names are followed once it is in.
    value.exports.load().then(
      () => value.tracker.resume(),
      () => undefined,
    );
    // Exports were once kept in localStorage: nothing of the user stays behind in the browser.
    try {
      services.storage.removeItem(`ferry.exports.${username}`);
    } catch {
      // Storage blocked: nothing was kept there either.
    }
    return () => {
      value.notifier.stop();
      value.tracker.dispose();
      value.imports.dispose();
      value.resources.dispose();
    };
  }, [value, services.storage, username]);

  return <UserContext.Provider value={{ user, ...value }}>{children}</UserContext.Provider>;
}

export function useUser(): UserServices {
  const user = useContext(UserContext);
  if (!user) throw new Error('useUser outside UserServicesProvider');
  return user;
}

export const useExports = () => {
  const { exports } = useUser();
  return useSyncExternalStore(exports.subscribe, exports.list);
};

export const useUploads = () => {
  const { imports } = useUser();
  return useSyncExternalStore(imports.subscribe, imports.list);
};

export const useResourceUploads = () => {
  const { resources } = useUser();
  return useSyncExternalStore(resources.subscribe, resources.list);
};

export const useSession = () => {
  const { session } = useServices();
  return useSyncExternalStore(session.subscribe, session.getSnapshot);
};

/** The current time for "expires in 71 h" style text: read on every render, and a render at least every `everyMs`. */
export function useNow(everyMs: number): number {
  const { now } = useServices();
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now();
}
