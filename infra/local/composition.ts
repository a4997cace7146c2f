import { join } from 'node:path';
import { withLocalIam } from './iam/wiring';
import { awsPortBuilders, lazyDeps, once, type DepsBuilder, type PortBuilders } from '../../functions/composition';

/**
 * The local stack's composition root, installed with `provideDeps` before any handler runs. The AWS
 * adapters serve every API with a local twin (S3, Step Functions, the management API, and DynamoDB
 * or OpenSearch when configured); the local adapters stand in where nothing local speaks the API.
 */
export const buildLocalDeps: DepsBuilder = async (config) => {
  // Every SDK client the handlers use is authorised against the calling function's role (LOCAL_IAM).
  const aws = await awsPortBuilders(config, { adapt: withLocalIam });
  const ports: PortBuilders = { ...aws };

  if (!config.opensearchUrl) {
    const { SqliteSearchSource } = await import('../../adapters/local/sqlite-search');
    ports.search = () => new SqliteSearchSource(join(config.dataDir, 'search.db'));
  }

  if (config.mailTransport === 'smtp' && config.smtpUrl) {
    const { SmtpMailer } = await import('../../adapters/local/smtp-mailer');
    const smtpUrl = config.smtpUrl;
    ports.mailer = () => new SmtpMailer(smtpUrl, config.mailFrom);
  } else if (config.mailTransport !== 'ses') {
    const { OutboxMailer } = await import('../../adapters/local/outbox-mailer');
    ports.mailer = () => new OutboxMailer(join(config.dataDir, 'outbox'), config.mailFrom);
  }

  // One records database for the audit trail, rendezvous, export progress and import records.
  const sqlite = await import('../../adapters/local/sqlite-records');
  const records = once(() => sqlite.openRecordsDatabase(join(config.dataDir, 'records.db')));
  if (!(config.auditTable && config.connectionsTable)) {
    ports.audit = () => new sqlite.SqliteAuditLog(records());
    ports.rendezvous = () => new sqlite.SqliteConnectionRendezvous(records());
    ports.exportProgress = () => new sqlite.SqliteExportProgress(records());
  }
  if (!config.importsTable) {
    const { SqliteImportRecords } = await import('../../adapters/local/sqlite-import-records');
    ports.imports = () => new SqliteImportRecords(records());
  }

  return lazyDeps(config, ports);
};
