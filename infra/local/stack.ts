import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { getDeps } from '../../functions/composition';
import { createLocalAuth, LOCAL_AUDIENCE } from './local-auth';
import { startGateway } from './gateway';
import { startLocalS3 } from './local-s3';
import { seedIfNeeded } from './seed';
import { createLocalInvoker, readServerlessFunctions } from './serverless-functions';
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

  const functions = readServerlessFunctions(root);
  const invoke = createLocalInvoker(functions);
  let ready = false;

  const gatewayOptions = {
    port: options.port,
    functions,
    invoke: (key: string, event: unknown) => {
      if (!ready) throw Object.assign(new Error('starting'), { statusCode: 503 });
      return invoke(key, event);
    },
    verifier: { verify: async (token: string) => (await getDeps()).tokens.verify(token) },
    localAuth: await createLocalAuth({ dataDir, issuer: 'pending', password: options.password }),
    webConfig: () => ({}),
    webRoot: join(root, 'frontend', 'dist'),
  };
  const gateway = await startGateway(gatewayOptions);
  const issuer = `${gateway.url}/api/local`;
  gatewayOptions.localAuth = await createLocalAuth({ dataDir, issuer, password: options.password });
  gatewayOptions.webConfig = () => ({ apiUrl: `${gateway.url}/api`, wsUrl: `${gateway.url.replace(/^http/, 'ws')}/ws`, auth: { mode: 'local' } });

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
    EXPORT_STATE_MACHINE_ARN: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:ferry-export`,
    JWT_ISSUER: issuer,
    JWT_AUDIENCE: LOCAL_AUDIENCE,
    JWKS_URL: `${issuer}/jwks.json`,
    APP_URL: gateway.url,
  });
  await getDeps();
  ready = true;

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
      await s3.close();
    },
  };
}
