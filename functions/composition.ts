import { join } from 'node:path';
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
import { parseConfig, type Config } from './config';

/**
 * The composition root: the one place adapters are chosen, from configuration.
 * Each AWS client is built once per process (per Lambda container) and handed to its adapter.
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

async function build(config: Config): Promise<Deps> {
  const awsBase = { region: config.region };

  const { S3Client } = await import('@aws-sdk/client-s3');
  const { S3ObjectStore } = await import('../adapters/aws/s3-object-store');
  const objects = new S3ObjectStore(
    new S3Client({ ...awsBase, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}) }),
  );

  let search: SearchSource;
  if (config.opensearchUrl) {
    const { OpenSearchSource, createOpenSearchClient } = await import('../adapters/aws/opensearch-search');
    search = new OpenSearchSource(createOpenSearchClient(config.opensearchUrl, config.region), config.opensearchIndex);
  } else {
    const { SqliteSearchSource } = await import('../adapters/local/sqlite-search');
    search = new SqliteSearchSource(join(config.dataDir, 'search.db'));
  }

  let mailer: Mailer;
  if (config.mailTransport === 'ses') {
    const { SESv2Client } = await import('@aws-sdk/client-sesv2');
    const { SesMailer } = await import('../adapters/aws/ses-mailer');
    mailer = new SesMailer(new SESv2Client({ ...awsBase, ...(config.sesEndpoint ? { endpoint: config.sesEndpoint } : {}) }), config.mailFrom);
  } else if (config.mailTransport === 'smtp' && config.smtpUrl) {
    const { SmtpMailer } = await import('../adapters/local/smtp-mailer');
    mailer = new SmtpMailer(config.smtpUrl, config.mailFrom);
  } else {
    const { OutboxMailer } = await import('../adapters/local/outbox-mailer');
    mailer = new OutboxMailer(join(config.dataDir, 'outbox'), config.mailFrom);
  }

  const { ApiGatewayManagementApiClient } = await import('@aws-sdk/client-apigatewaymanagementapi');
  const { ApiGatewayPushChannel } = await import('../adapters/aws/apigw-push');
  const push = new ApiGatewayPushChannel(
    new ApiGatewayManagementApiClient({ ...awsBase, endpoint: config.wsManagementEndpoint }),
  );

  const { SFNClient } = await import('@aws-sdk/client-sfn');
  const { StepFunctionsExecutions } = await import('../adapters/aws/sfn-executions');
  const executions = new StepFunctionsExecutions(
    new SFNClient({ ...awsBase, ...(config.sfnEndpoint ? { endpoint: config.sfnEndpoint } : {}) }),
    { export: config.exportStateMachineArn, import: config.importStateMachineArn ?? '' },
  );

  let audit: AuditLog;
  let rendezvous: ConnectionRendezvous;
  let exportProgress: ExportProgress;
  if (config.auditTable && config.connectionsTable) {
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
    const { DynamoAuditLog } = await import('../adapters/aws/dynamo-audit-log');
    const { DynamoConnectionRendezvous } = await import('../adapters/aws/dynamo-rendezvous');
    const { DynamoExportProgress } = await import('../adapters/aws/dynamo-export-progress');
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient(awsBase), {
      marshallOptions: { removeUndefinedValues: true },
    });
    audit = new DynamoAuditLog(documents, config.auditTable);
    rendezvous = new DynamoConnectionRendezvous(documents, config.connectionsTable);
    exportProgress = new DynamoExportProgress(documents, config.connectionsTable);
  } else {
    const { openRecordsDatabase, SqliteAuditLog, SqliteConnectionRendezvous, SqliteExportProgress } = await import('../adapters/local/sqlite-records');
    const db = openRecordsDatabase(join(config.dataDir, 'records.db'));
    audit = new SqliteAuditLog(db);
    rendezvous = new SqliteConnectionRendezvous(db);
    exportProgress = new SqliteExportProgress(db);
  }

  let imports: ImportRecords;
  if (config.importsTable) {
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
    const { DynamoImportRecords } = await import('../adapters/aws/dynamo-import-records');
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient(awsBase), { marshallOptions: { removeUndefinedValues: true } });
    imports = new DynamoImportRecords(documents, config.importsTable);
  } else {
    const { openRecordsDatabase } = await import('../adapters/local/sqlite-records');
    const { SqliteImportRecords } = await import('../adapters/local/sqlite-import-records');
    imports = new SqliteImportRecords(openRecordsDatabase(join(config.dataDir, 'records.db')));
  }

  let scanner: VirusScanner;
  if (config.clamdHost) {
    const { ClamdScanner } = await import('../adapters/local/clamd-scanner');
    scanner = new ClamdScanner({ host: config.clamdHost, port: config.clamdPort, scanTimeoutMs: config.scanTimeoutSeconds * 1000 });
  } else {
    // Fail closed: without a scanner nothing is "clean", so no import is ever processed unscanned.
    scanner = {
      scan: async (stream) => {
        stream.destroy();
        throw new ScanFailed('No virus scanner is configured (CLAMD_HOST is not set; is clamd installed?), so the file cannot be checked.');
      },
    };
  }

  const { randomUUID } = await import('node:crypto');
  return {
    config,
    search,
    objects,
    mailer,
    push,
    rendezvous,
    exportProgress,
    executions,
    audit,
    imports,
    scanner,
    clock: { now: () => new Date() },
    ids: { newId: () => randomUUID() },
    tokens: createTokenVerifier({ issuer: config.jwtIssuer, audience: config.jwtAudience, jwksUrl: config.jwksUrl }),
  };
}

let deps: Promise<Deps> | undefined;

/** The process-wide dependencies, built on first use from the environment. */
export function getDeps(): Promise<Deps> {
  // A failed build is not cached: the local stack may still be filling in its configuration.
  deps ??= Promise.resolve()
    .then(() => build(parseConfig()))
    .catch((error: unknown) => {
      deps = undefined;
      throw error;
    });
  return deps;
}
