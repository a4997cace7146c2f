import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { getDeps } from '../../functions/composition';
import { createLocalAuth, LOCAL_AUDIENCE, type LocalAuth } from './local-auth';
import { startGateway } from './gateway';
import { startLocalS3 } from './local-s3';
import { seedIfNeeded } from './seed';
import { handlerModuleInvoker, loadServerlessFunctions } from './stepfunctions/definitions';
import { LocalStepFunctions } from './stepfunctions/service';
import { startStepFunctionsServer } from './stepfunctions/http';
import { sweepExpiredObjects } from './sweeper';

/** Everything Ferry needs on one machine, with no AWS account. */
export interface LocalStackOptions {
  /** Repository root (where serverless.yml and statemachines/ are). */
  root: string;
  dataDir: string;
  port: number;
  s3Port: number;
  sfnPort: number;
  seedRows: number;
  exportTtlHours: number;
  password: string;
}

export interface LocalStack {
  url: string;
  s3Endpoint: string;
  sfnEndpoint: string;
  dataDir: string;
  buckets: { exports: string };
  close(): Promise<void>;
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const BUCKETS = { exports: 'ferry-exports' };
const SWEEP_EVERY_MS = 10 * 60 * 1000;

export function localStackOptionsFromEnv(env = process.env): LocalStackOptions {
  return {
    root: resolve(env.FERRY_ROOT ?? process.cwd()),
    dataDir: resolve(env.DATA_DIR ?? '.data'),
    port: Number(env.PORT ?? 3000),
    s3Port: Number(env.S3_PORT ?? 4569),
    sfnPort: Number(env.SFN_PORT ?? 8083),
    seedRows: Number(env.SEED_ROWS ?? 50_000),
    exportTtlHours: Number(env.EXPORT_TTL_HOURS ?? 72),
    password: env.LOCAL_USER_PASSWORD ?? 'ferry',
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { root, dataDir } = options;
  mkdirSync(dataDir, { recursive: true });
  // Local credentials: the SDK clients sign requests as they would in AWS; s3rver accepts these keys.
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  process.env.AWS_REGION ??= REGION;

  const s3 = await startLocalS3({ dataDir, port: options.s3Port, buckets: Object.values(BUCKETS) });
  await seedIfNeeded(dataDir, options.seedRows);

  const functions = loadServerlessFunctions(join(root, 'serverless.yml'));
  const invoke = handlerModuleInvoker(functions);
  const started: { services?: { localAuth: LocalAuth; webConfig: unknown } } = {};
  const gateway = await startGateway({
    port: options.port,
    functions,
    invoke,
    verifier: { verify: async (token: string) => (await getDeps()).tokens.verify(token) },
    services: () => started.services,
    webRoot: join(root, 'frontend', 'dist'),
  });
  const issuer = `${gateway.url}/api/local`;

  const stepFunctions = new LocalStepFunctions({
    region: REGION,
    accountId: ACCOUNT,
    stateMachines: { 'ferry-export': join(root, 'statemachines', 'export.asl.yaml') },
    invoke,
    storeDir: join(dataDir, 'stepfunctions'),
  });
  const sfn = await startStepFunctionsServer(stepFunctions, { port: options.sfnPort });

  Object.assign(process.env, {
    DATA_DIR: dataDir,
    EXPORTS_BUCKET: BUCKETS.exports,
    EXPORT_TTL_HOURS: String(options.exportTtlHours),
    S3_ENDPOINT: s3.endpoint,
    SFN_ENDPOINT: sfn.url,
    WS_MANAGEMENT_ENDPOINT: gateway.managementEndpoint,
    EXPORT_STATE_MACHINE_ARN: stepFunctions.stateMachineArn('ferry-export'),
    JWT_ISSUER: issuer,
    JWT_AUDIENCE: LOCAL_AUDIENCE,
    JWKS_URL: `${issuer}/jwks.json`,
    APP_URL: gateway.url,
  });
  await getDeps();
  started.services = {
    localAuth: await createLocalAuth({ dataDir, issuer, password: options.password }),
    webConfig: { apiUrl: `${gateway.url}/api`, wsUrl: `${gateway.url.replace(/^http/, 'ws')}/ws`, auth: { mode: 'local' } },
  };

  const s3Client = new S3Client({ region: REGION, endpoint: s3.endpoint, forcePathStyle: true });
  const sweep = () =>
    sweepExpiredObjects(s3Client, BUCKETS.exports, 'exports/', new Date(Date.now() - options.exportTtlHours * 3600_000)).catch(
      (error: unknown) => console.error('[sweeper]', error),
    );
  void sweep();
  const sweeper = setInterval(sweep, SWEEP_EVERY_MS);
  sweeper.unref();

  return {
    url: gateway.url,
    s3Endpoint: s3.endpoint,
    sfnEndpoint: sfn.url,
    dataDir,
    buckets: BUCKETS,
    async close() {
      clearInterval(sweeper);
      await gateway.close();
      await sfn.close();
      await stepFunctions.close();
      await s3.close();
    },
  };
}
