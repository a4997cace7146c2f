import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localIam } from '../../infra/local/iam/local-iam';

/** The local stack's bucket names, by their serverless.yml resource names. */
export const LOCAL_BUCKETS = { ExportsBucket: 'ferry-exports', UploadsBucket: 'ferry-uploads', PermanentBucket: 'ferry-imports', QuarantineBucket: 'ferry-quarantine' };

/** The repository's serverless.yml, as the local stack enforces it. */
export const repositoryIam = () =>
  localIam({
    serverlessYmlPath: join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'serverless.yml'),
    buckets: LOCAL_BUCKETS,
    region: 'us-east-1',
    account: '000000000000',
  });
