import { join } from 'node:path';
import { lazyDeps, type DepsBuilder, type PortBuilders } from '../../functions/composition';
import { awsPorts } from '../../functions/ports/all';
import { adaptAwsClients } from '../../functions/ports/port';
import { rememberPresignedPostSigner, withLocalIam } from './iam/wiring';

/**
 * The local stack's composition root, installed with `provideDeps` before any handler runs. The AWS
 * builders serve every API with a local twin (S3, DynamoDB on dynalite, Step Functions, the management
 * API, and OpenSearch when configured); local adapters stand in only for search, mail and (with the local token issuer) the user directory.
 */
export const buildLocalDeps: DepsBuilder = async (config) => {
  // Every SDK client the handlers use is authorised against the calling function's role (LOCAL_IAM).
  adaptAwsClients(withLocalIam);
  const ports: PortBuilders = { ...awsPorts };
  if (!config.opensearchUrl) {
    const { SqliteSearchSource } = await import('../../adapters/local/sqlite-search');
    ports.search = () => new SqliteSearchSource(join(config.dataDir, 'search.db'));
  }

  if (config.authMode === 'local') {
    const { ListedUserDirectory } = await import('../../adapters/local/listed-user-directory');
    const { LOCAL_USERS } = await import('./local-auth');
    // The local issuer's tokens carry sub = username (local-auth.ts).
    ports.users = () => new ListedUserDirectory(LOCAL_USERS.map(({ username, email }) => ({ userId: username, username, email })));
  }

  if (config.mailTransport === 'smtp' && config.smtpUrl) {
    const { SmtpMailer } = await import('../../adapters/local/smtp-mailer');
    const smtpUrl = config.smtpUrl;
    ports.mailer = () => new SmtpMailer(smtpUrl, config.mailFrom);
  } else if (config.mailTransport !== 'ses') {
    const { OutboxMailer } = await import('../../adapters/local/outbox-mailer');
    ports.mailer = () => new OutboxMailer(join(config.dataDir, 'outbox'), config.mailFrom);
  }

  // The local S3 presigns for the host the browser used (./local-objects). A presigned POST is signed off the
  // SDK's middleware: its signer is registered so the local S3 authorises it as them.
  const s3Endpoint = config.s3Endpoint;
  const localObjects = s3Endpoint ? (await import('./local-objects')).localObjects : undefined;
  ports.objects = (built) => {
    const store = localObjects && s3Endpoint ? localObjects(built, s3Endpoint) : awsPorts.objects(built);
    const presignPost = store.presignPost.bind(store);
    store.presignPost = async (plan, expiresInSeconds) => {
      const post = await presignPost(plan, expiresInSeconds);
      rememberPresignedPostSigner(post.fields['X-Amz-Signature'], Date.now() + expiresInSeconds * 1000);
      return post;
    };
    return store;
  };

  return lazyDeps(config, ports);
};
