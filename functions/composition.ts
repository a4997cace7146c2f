import type {
  AuditLog,
  Clock,
  ConnectionRendezvous,
  ExecutionService,
  ExportProgress,
  ExportRecords,
  IdGenerator,
  ImportRecords,
  ImportSlotStore,
  Mailer,
  ObjectStore,
  PushChannel,
  StagingSearchSource,
  UserDirectory,
  VirusScanner,
} from '../core/ports';
import type { TokenVerifier } from './auth';
import { getConfig, type Config } from './config';
import { required, type PortBuilder } from './ports/port';

/**
 * The AWS home's composition root. Each handler names the ports it uses with `wired`, whose builders
 * (functions/ports/*, one SDK client and adapter each) are all its bundle carries. The local stack
 * installs its own root (infra/local/composition.ts) with `provideDeps`; `wired` then hands its deps over.
 */
export interface Deps {
  config: Config;
  search: StagingSearchSource;
  objects: ObjectStore;
  mailer: Mailer;
  push: PushChannel;
  rendezvous: ConnectionRendezvous;
  exportProgress: ExportProgress;
  executions: ExecutionService;
  audit: AuditLog;
  imports: ImportRecords;
  importSlots: ImportSlotStore;
  exportJobs: ExportRecords;
  users: UserDirectory;
  scanner: VirusScanner;
  clock: Clock;
  ids: IdGenerator;
  tokens: TokenVerifier;
}

export type Ports = Omit<Deps, 'config'>;
/** How each port is built; `lazyDeps` calls each at most once, on first access. */
export type PortBuilders = { [K in keyof Ports]: PortBuilder<Ports[K]> };
/** A home's composition root. */
export type DepsBuilder = (config: Config) => Promise<Deps>;

/** Deps whose ports are built on first access and cached: a Lambda builds only what it touches. */
export function lazyDeps<K extends keyof Ports>(config: Config, builders: Pick<PortBuilders, K>): Pick<Deps, 'config' | K> {
  const deps = { config } as Pick<Deps, 'config' | K>;
  for (const key of Object.keys(builders) as K[]) {
    const build = builders[key] as PortBuilder<Ports[K]>;
    let built: Ports[K] | undefined;
    Object.defineProperty(deps, key, {
      enumerable: true,
      get: () => (built ??= build(config)),
    });
  }
  return Object.freeze(deps);
}

/** Builds the value once, on first call. */
export const once = <T>(build: () => T): (() => T) => {
  let value: { built: T } | undefined;
  return () => (value ??= { built: build() }).built;
};

/** AWS: every table, OpenSearch and SES are required, so a missing one fails at start-up, not mid-workflow. */
export function checkAwsConfig(config: Config): Config {
  required(config.opensearchUrl, 'OPENSEARCH_URL');
  required(config.auditTable, 'AUDIT_TABLE');
  required(config.connectionsTable, 'CONNECTIONS_TABLE');
  required(config.importsTable, 'IMPORTS_TABLE');
  required(config.jobsTable, 'JOBS_TABLE');
  if (config.mailTransport !== 'ses')
    throw new Error(`Ferry configuration is incomplete: MAIL_TRANSPORT must be "ses" in AWS, not "${config.mailTransport}"`);
  return config;
}

let homeBuilder: DepsBuilder | undefined;
let deps: Promise<Deps> | undefined;

/** Installs another home's composition root (the local stack's); only before the first `getDeps()`. */
export function provideDeps(builder: DepsBuilder): void {
  if (builder === homeBuilder) return;
  if (deps) throw new Error('provideDeps must run before the first getDeps()');
  homeBuilder = builder;
}

/** The installed home's dependencies (see `provideDeps`), built once; each port is built on first use. */
export function getDeps(): Promise<Deps> {
  const builder = homeBuilder;
  if (!builder)
    return Promise.reject(
      new Error('getDeps() needs a composition root installed with provideDeps; AWS handlers name their ports with wired()'),
    );
  // A failed build is not cached: the local stack may still be filling in its configuration.
  deps ??= Promise.resolve()
    .then(() => builder(getConfig()))
    .catch((error: unknown) => {
      deps = undefined;
      throw error;
    });
  return deps;
}

type Wiring = Partial<PortBuilders>;
type WiredDeps<W extends Wiring> = Pick<Deps, 'config' | Extract<keyof W, keyof Ports>>;

/**
 * The Lambda `handler` of a `makeHandler(deps)`: `wired({ search, clock }, makeHandler)`. In AWS the deps
 * hold exactly the named ports, each built on first use; under the local stack (`provideDeps`) they are
 * its deps. The handler is made once per process, at the first invocation, and reused.
 */
export function wired<W extends Wiring, H extends (...args: never[]) => Promise<unknown>>(
  ports: W,
  makeHandler: (deps: WiredDeps<W>) => H,
): H {
  let made: Promise<H> | undefined;
  const make = async (): Promise<H> =>
    makeHandler(
      homeBuilder ? await getDeps() : lazyDeps(checkAwsConfig(getConfig()), ports as Pick<PortBuilders, Extract<keyof W, keyof Ports>>),
    );
  const handler = async (...args: Parameters<H>) => {
    made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    });
    return (await made)(...args);
  };
  return handler as unknown as H;
}
