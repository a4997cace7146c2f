import type {
  AuditLog,
  Clock,
  ConnectionRendezvous,
  ExecutionService,
  ExportProgress,
  IdGenerator,
  ImportRecords,
  Mailer,
  ObjectStore,
  PushChannel,
  SearchSource,
  VirusScanner,
} from '../core/ports';
import { ScanFailed } from '../core/errors';
import { createTokenVerifier, type TokenVerifier } from './auth';
import { getConfig, type Config } from './config';

/**
 * The AWS home's composition root: only AWS adapters (and clamd, which the scan Lambda reaches on
 * Fargate), so no Lambda bundle carries the local stack. The local stack installs its own root
 * (infra/local/composition.ts) with `provideDeps` before the first `getDeps()`.
 */
export interface Deps {
  config: Config;
  search: SearchSource;
  objects: ObjectStore;
  mailer: Mailer;
  push: PushChannel;
  rendezvous: ConnectionRendezvous;
  exportProgress: ExportProgress;
  executions: ExecutionService;
  audit: AuditLog;
  imports: ImportRecords;
  scanner: VirusScanner;
  clock: Clock;
  ids: IdGenerator;
  tokens: TokenVerifier;
}

export type Ports = Omit<Deps, 'config'>;
/** How each port is built; `lazyDeps` calls each at most once, on first access. */
export type PortBuilders = { [K in keyof Ports]: () => Ports[K] };
/** A home's composition root. */
export type DepsBuilder = (config: Config) => Promise<Deps>;

/** Deps whose ports are built on first access and cached: a Lambda builds only what it touches. */
export function lazyDeps(config: Config, builders: PortBuilders): Deps {
  const deps = { config } as Deps;
  for (const key of Object.keys(builders) as Array<keyof Ports>) {
    let built: Ports[typeof key] | undefined;
    Object.defineProperty(deps, key, {
      enumerable: true,
      get: () => (built ??= builders[key]()),
    });
  }
  return Object.freeze(deps);
}

/** Builds the value once, on first call. */
export const once = <T>(build: () => T): (() => T) => {
  let value: { built: T } | undefined;
  return () => (value ??= { built: build() }).built;
};

const required = <T>(value: T | undefined, variable: string): T => {
  if (value === undefined) throw new Error(`Ferry configuration is incomplete: ${variable} is not set`);
  return value;
};

// Fail closed: without a scanner nothing is "clean", so no import is ever processed unscanned.
const noScanner: VirusScanner = {
  scan: async (stream) => {
    stream.destroy();
    throw new ScanFailed('No virus scanner is configured (CLAMD_HOST is not set; is clamd installed?), so the file cannot be checked.');
  },
};

/**
 * The AWS adapters' builders. Modules are loaded here (dynamic imports stay lazy in the bundle until
 * this runs); clients and adapters are built only when a port is first used. One DynamoDB document
 * client serves every table. The local stack reuses these for the AWS APIs it has twins of.
 */
export async function awsPortBuilders(config: Config, clients: { adapt?: <C extends object>(client: C) => C } = {}): Promise<PortBuilders> {
  // The local stack passes each client through its IAM enforcement; AWS uses them as built.
  const adapt = clients.adapt ?? (<C,>(client: C) => client);
  const awsBase = { region: config.region };
  const [s3, s3Store, openSearch, ses, sesMailer, apigw, apigwPush, sfn, sfnExecutions, dynamo, dynamoDocs, auditLog, rendezvous, progress, importRecords, clamd, crypto] =
    await Promise.all([
      import('@aws-sdk/client-s3'),
      import('../adapters/aws/s3-object-store'),
      import('../adapters/aws/opensearch-search'),
      import('@aws-sdk/client-sesv2'),
      import('../adapters/aws/ses-mailer'),
      import('@aws-sdk/client-apigatewaymanagementapi'),
      import('../adapters/aws/apigw-push'),
      import('@aws-sdk/client-sfn'),
      import('../adapters/aws/sfn-executions'),
      import('@aws-sdk/client-dynamodb'),
      import('@aws-sdk/lib-dynamodb'),
      import('../adapters/aws/dynamo-audit-log'),
      import('../adapters/aws/dynamo-rendezvous'),
      import('../adapters/aws/dynamo-export-progress'),
      import('../adapters/aws/dynamo-import-records'),
      import('../adapters/clamd/clamd-scanner'),
      import('node:crypto'),
    ]);
  const documents = once(() =>
    dynamoDocs.DynamoDBDocumentClient.from(adapt(new dynamo.DynamoDBClient(awsBase)), { marshallOptions: { removeUndefinedValues: true } }),
  );
  return {
    search: () =>
      new openSearch.OpenSearchSource(
        openSearch.createOpenSearchClient(required(config.opensearchUrl, 'OPENSEARCH_URL'), config.region),
        config.opensearchIndex,
      ),
    objects: () =>
      new s3Store.S3ObjectStore(
        adapt(new s3.S3Client({ ...awsBase, ...s3Store.S3_CLIENT_CHECKSUMS, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}) })),
      ),
    mailer: () => new sesMailer.SesMailer(adapt(new ses.SESv2Client({ ...awsBase, ...(config.sesEndpoint ? { endpoint: config.sesEndpoint } : {}) })), config.mailFrom),
    push: () => new apigwPush.ApiGatewayPushChannel(adapt(new apigw.ApiGatewayManagementApiClient({ ...awsBase, endpoint: config.wsManagementEndpoint }))),
    rendezvous: () => new rendezvous.DynamoConnectionRendezvous(documents(), required(config.connectionsTable, 'CONNECTIONS_TABLE')),
    exportProgress: () => new progress.DynamoExportProgress(documents(), required(config.connectionsTable, 'CONNECTIONS_TABLE')),
    executions: () =>
      new sfnExecutions.StepFunctionsExecutions(
        adapt(new sfn.SFNClient({ ...awsBase, ...(config.sfnEndpoint ? { endpoint: config.sfnEndpoint } : {}) })),
        { export: config.exportStateMachineArn, import: config.importStateMachineArn ?? '' },
      ),
    audit: () => new auditLog.DynamoAuditLog(documents(), required(config.auditTable, 'AUDIT_TABLE')),
    imports: () => new importRecords.DynamoImportRecords(documents(), required(config.importsTable, 'IMPORTS_TABLE')),
    scanner: () => (config.clamdHost ? new clamd.ClamdScanner({ host: config.clamdHost, port: config.clamdPort }) : noScanner),
    clock: () => ({ now: () => new Date() }),
    ids: () => ({ newId: () => crypto.randomUUID() }),
    tokens: () => createTokenVerifier({ issuer: config.jwtIssuer, audience: config.jwtAudience, jwksUrl: config.jwksUrl }),
  };
}

/** AWS: every table, OpenSearch and SES are required, so a missing one fails at start-up, not mid-workflow. */
const buildAwsDeps: DepsBuilder = async (config) => {
  required(config.opensearchUrl, 'OPENSEARCH_URL');
  required(config.auditTable, 'AUDIT_TABLE');
  required(config.connectionsTable, 'CONNECTIONS_TABLE');
  required(config.importsTable, 'IMPORTS_TABLE');
  if (config.mailTransport !== 'ses') throw new Error(`Ferry configuration is incomplete: MAIL_TRANSPORT must be "ses" in AWS, not "${config.mailTransport}"`);
  return lazyDeps(config, await awsPortBuilders(config));
};

let builder: DepsBuilder = buildAwsDeps;
let deps: Promise<Deps> | undefined;

/** Installs another home's composition root (the local stack's); only before the first `getDeps()`. */
export function provideDeps(homeBuilder: DepsBuilder): void {
  if (homeBuilder === builder) return;
  if (deps) throw new Error('provideDeps must run before the first getDeps()');
  builder = homeBuilder;
}

/** The process-wide dependencies, from the environment; each port is built on first use. */
export function getDeps(): Promise<Deps> {
  // A failed build is not cached: the local stack may still be filling in its configuration.
  deps ??= Promise.resolve()
    .then(() => builder(getConfig()))
    .catch((error: unknown) => {
      deps = undefined;
      throw error;
    });
  return deps;
}
