import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { getDeps, provideDeps } from '../../functions/composition';
import { cognitoPoolFromEnv } from '../../functions/config';
import { findClamd, startClamd, type ClamdHandle } from './clamd/start-clamd';
import { buildLocalDeps } from './composition';
import { cognitoWebAuth, createLocalAuth, LOCAL_AUDIENCE, type LocalAuth } from './local-auth';
import { startGateway } from './gateway';
import { deadLetterFiles, deliverS3EventsToRules } from './local-eventbridge';
import { startLocalS3 } from './local-s3';
import { startLocalS3Process } from './local-s3-process';
import { seedIfNeeded } from './seed';
import { localIam } from './iam/local-iam';
import { authorizeStateMachineInvoke, installLocalIam, localIamModeFromEnv, presignedRefusal } from './iam/wiring';
import { handlerModuleInvoker, loadServerlessConfig, type ServerlessConfig } from './serverless-config';
import { startLocalDynamoTables } from './dynamodb/local-tables';
import { LocalStepFunctions } from './stepfunctions/service';
import { startStepFunctionsServer } from './stepfunctions/http';
import { abortStaleMultipartUploads, sweepExpiredObjects } from './sweeper';
import { freePort } from './free-port';
import { rememberVerifiedTokens } from './verified-tokens';
import { taskPool } from './task-workers';

/** Everything Ferry needs on one machine, with no AWS account. */
export interface LocalStackOptions {
  /** Repository root (where serverless.yml and statemachines/ are). */
  root: string;
  /** The serverless.yml the stack runs (FERRY_SERVERLESS_YML, default <root>/serverless.yml): functions, tables, roles. */
  serverlessYml: string;
  dataDir: string;
  port: number;
  s3Port: number;
  sfnPort: number;
  seedRows: number;
  exportTtlHours: number;
  password: string;
  /** Where the gateway, the management API and the Step Functions endpoint listen: 127.0.0.1 unless HOST opts in to more. */
  host: string;
}

export interface LocalStack {
  url: string;
  s3Endpoint: string;
  sfnEndpoint: string;
  /** The WebSocket management API (`@connections`), on loopback and SigV4-checked. */
  managementEndpoint: string;
  /** The local DynamoDB (dynalite, serverless.yml's tables), as the AWS SDK's endpoint. */
  dynamoEndpoint: string;
  dataDir: string;
  buckets: typeof BUCKETS;
  /** Where the import's antivirus check finds clamd; undefined when it is not installed (imports then fail closed). */
  clamd?: { host: string; port: number; startedHere: boolean };
  close(): Promise<void>;
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const BUCKETS = { exports: 'ferry-exports', uploads: 'ferry-uploads', permanent: 'ferry-imports', quarantine: 'ferry-quarantine' };
const SWEEP_EVERY_MS = 10 * 60 * 1000;
/** The serverless stage the local stack plays: its names (ferry-local-<table>, ferry-export-local) are what the roles grant. */
const LOCAL_STAGE = 'local';

const machineName = (stateMachines: ServerlessConfig['stateMachines'], key: string): string => {
  const name = stateMachines[key]?.name;
  if (typeof name !== 'string') throw new Error(`serverless.yml names no state machine "${key}"`);
  return name;
};

/** The uploads bucket's lifecycle rules (infra/aws/resources/storage.yml): one day, for uploads and incomplete multipart uploads. */
const UPLOAD_TTL_HOURS = 24;

export function localStackOptionsFromEnv(env = process.env): LocalStackOptions {
  const root = resolve(env.FERRY_ROOT ?? process.cwd());
  return {
    root,
    serverlessYml: resolve(env.FERRY_SERVERLESS_YML ?? join(root, 'serverless.yml')),
    dataDir: resolve(env.DATA_DIR ?? '.data'),
    port: Number(env.PORT ?? 3000),
    s3Port: Number(env.S3_PORT ?? 4569),
    sfnPort: Number(env.SFN_PORT ?? 8083),
    seedRows: Number(env.SEED_ROWS ?? 50_000),
    exportTtlHours: Number(env.EXPORT_TTL_HOURS ?? 72),
    password: env.LOCAL_USER_PASSWORD ?? 'ferry',
    host: env.HOST || '127.0.0.1',
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { root, dataDir, serverlessYml } = options;
  // The handlers run in-process: they get the local adapters, never the AWS home's defaults.
  provideDeps(buildLocalDeps);
  mkdirSync(dataDir, { recursive: true });
  // Local credentials: the SDK clients sign requests as they would in AWS; s3rver accepts these keys.
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  process.env.AWS_REGION ??= REGION;

  // A presigned link or POST is authorised as the function that signed it, when it is used (local IAM).
  // In a process of its own (LOCAL_S3_PROCESS=0 keeps it here), so the bytes of every export and upload, and their
  // signature checks, do not hold the gateway's event loop; a presigned use is still authorised here, by its signer.
  const startS3 = process.env.LOCAL_S3_PROCESS === '0' ? startLocalS3 : startLocalS3Process;
  const s3 = await startS3({ dataDir, port: options.s3Port, buckets: Object.values(BUCKETS), authorizePresigned: presignedRefusal });
  // DynamoDB on dynalite under <dataDir>/dynamodb, with serverless.yml's tables: the AWS adapters run against it.
  // In a process of its own (LOCAL_DYNAMO_PROCESS=0 keeps it here), so DynamoDB work does not hold the gateway's event loop.
  const dynamo = await startLocalDynamoTables({ dataDir, serverlessYml, ownProcess: process.env.LOCAL_DYNAMO_PROCESS !== '0' });
  await seedIfNeeded(dataDir, options.seedRows);

  const { functions, stateMachines } = loadServerlessConfig(serverlessYml, { stage: LOCAL_STAGE });
  // Local IAM (LOCAL_IAM=enforce by default, record or off): each invocation runs as its function's role from serverless.yml.
  const buckets = { ExportsBucket: BUCKETS.exports, UploadsBucket: BUCKETS.uploads, PermanentBucket: BUCKETS.permanent, QuarantineBucket: BUCKETS.quarantine };
  const iamMode = localIamModeFromEnv();
  // In record mode every decision is also kept in <dataDir>/iam/decisions.jsonl, to compare with the roles.
  const decisionsFile = iamMode === 'record' ? join(dataDir, 'iam', 'decisions.jsonl') : undefined;
  const iamOptions = { serverlessYmlPath: serverlessYml, buckets, region: REGION, account: ACCOUNT, stage: LOCAL_STAGE };
  const iamExtras = decisionsFile ? { decisionsFile } : {};
  installLocalIam(localIam(iamOptions), iamMode, iamExtras);
  // The file-heavy workflow tasks run in child processes sized by their memorySize (LOCAL_TASK_WORKERS per size, default 2; 0 keeps them here).
  const tasks = taskPool(
    handlerModuleInvoker(functions),
    { serverlessYmlPath: serverlessYml, stage: LOCAL_STAGE, iam: { options: iamOptions, mode: iamMode, ...iamExtras } },
    Number(process.env.LOCAL_TASK_WORKERS ?? 2),
  );
  const invoke = tasks.invoke;
  const started: { services?: { localAuth?: LocalAuth; webConfig: unknown } } = {};
  const gateway = await startGateway({
    port: options.port,
    host: options.host,
    functions,
    invoke,
    // Each token's signature is checked once, and its expiry on every request (verified-tokens.ts).
    verifier: rememberVerifiedTokens({ verify: async (token: string) => (await getDeps()).tokens.verify(token) }),
    services: () => started.services,
    // A service in a process of its own that has died: health answers 503 naming it.
    unavailable: () => s3.failure() ?? dynamo.failure(),
    webRoot: join(root, 'frontend', 'dist'),
  });
  const issuer = `${gateway.url}/api/local`;

  const stepFunctions = new LocalStepFunctions({
    region: REGION,
    accountId: ACCOUNT,
    // Named as serverless.yml names them for the local stage (ferry-export-local …): the ARNs its roles grant.
    stateMachines: {
      [machineName(stateMachines, 'export')]: join(root, 'statemachines', 'export.asl.yaml'),
      [machineName(stateMachines, 'import')]: join(root, 'statemachines', 'import.asl.yaml'),
    },
    invoke,
    // Each Task's lambda:InvokeFunction is authorised as its state machine's role, as AWS does.
    authorizeInvoke: authorizeStateMachineInvoke,
    storeDir: join(dataDir, 'stepfunctions'),
  });
  const sfn = await startStepFunctionsServer(stepFunctions, { port: options.sfnPort, host: options.host });
  const clamd = await clamdFor(dataDir);

  Object.assign(process.env, {
    DATA_DIR: dataDir,
    EXPORTS_BUCKET: BUCKETS.exports,
    EXPORT_TTL_HOURS: String(options.exportTtlHours),
    S3_ENDPOINT: s3.endpoint,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    AUDIT_TABLE: dynamo.tableName('AuditTable'),
    CONNECTIONS_TABLE: dynamo.tableName('ConnectionsTable'),
    IMPORTS_TABLE: dynamo.tableName('ImportsTable'),
    JOBS_TABLE: dynamo.tableName('JobsTable'),
    SFN_ENDPOINT: sfn.url,
    WS_MANAGEMENT_ENDPOINT: gateway.managementEndpoint,
    EXPORT_STATE_MACHINE_ARN: stepFunctions.stateMachineArn(machineName(stateMachines, 'export')),
    IMPORT_STATE_MACHINE_ARN: stepFunctions.stateMachineArn(machineName(stateMachines, 'import')),
    UPLOADS_BUCKET: BUCKETS.uploads,
    PERMANENT_BUCKET: BUCKETS.permanent,
    QUARANTINE_BUCKET: BUCKETS.quarantine,
    ...(clamd ? { CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port) } : {}),
    JWT_ISSUER: issuer,
    JWT_AUDIENCE: LOCAL_AUDIENCE,
    JWKS_URL: `${issuer}/jwks.json`,
    APP_URL: gateway.url,
    // No cap unless asked: the local stack writes far faster than the AWS figure the default is for.
    MAX_EXPORT_ROWS: process.env.MAX_EXPORT_ROWS || 'unlimited',
    // Sliced exports (core/export/slices.ts): the config's defaults unless the environment says otherwise.
    ...(process.env.EXPORT_SLICE_ROWS ? { EXPORT_SLICE_ROWS: process.env.EXPORT_SLICE_ROWS } : {}),
    ...(process.env.EXPORT_SLICE_CONCURRENCY ? { EXPORT_SLICE_CONCURRENCY: process.env.EXPORT_SLICE_CONCURRENCY } : {}),
  });
  await getDeps();
  // The local S3's object-created events play S3 → EventBridge, filtered by serverless.yml's eventBridge rules.
  s3.onEvent(
    deliverS3EventsToRules({
      functions,
      localNames: { UploadsBucket: BUCKETS.uploads },
      account: ACCOUNT,
      region: REGION,
      invoke,
      // Lambda waits about a minute before its first retry; locally a second unless LOCAL_EVENT_RETRY_MS says otherwise.
      retryDelayMs: Number(process.env.LOCAL_EVENT_RETRY_MS ?? 1000),
      deadLetter: deadLetterFiles(join(dataDir, 'dead-letters')),
    }),
  );
  const urls = { apiUrl: `${gateway.url}/api`, wsUrl: `${gateway.url.replace(/^http/, 'ws')}/ws` };
  // AUTH_MODE=cognito: a user pool signs people in (functions/config.ts derives the verifier); the local issuer is off.
  const pool = cognitoPoolFromEnv();
  started.services = pool
    ? { webConfig: { ...urls, auth: cognitoWebAuth(pool) } }
    : {
        localAuth: await createLocalAuth({ dataDir, issuer, password: options.password }),
        webConfig: { ...urls, auth: { mode: 'local' } },
      };

  await tasks.warm();
  // Executions a crash or kill left RUNNING go on once everything their tasks call is up.
  stepFunctions.resumeInterrupted();

  const s3Client = new S3Client({ region: REGION, endpoint: s3.endpoint, forcePathStyle: true });
  const sweep = () =>
    Promise.all([
      sweepExpiredObjects(s3Client, BUCKETS.exports, 'exports/', new Date(Date.now() - options.exportTtlHours * 3600_000)),
      // The uploads bucket's rules: an upload lives a day at most, and so does an incomplete multipart upload anywhere.
      sweepExpiredObjects(s3Client, BUCKETS.uploads, 'uploads/', new Date(Date.now() - UPLOAD_TTL_HOURS * 3600_000)),
      ...Object.values(BUCKETS).map((bucket) => abortStaleMultipartUploads(s3Client, bucket, new Date(Date.now() - UPLOAD_TTL_HOURS * 3600_000))),
      dynamo.sweepExpired(),
    ]).catch((error: unknown) => console.error('[sweeper]', error));
  void sweep();
  const sweeper = setInterval(sweep, SWEEP_EVERY_MS);
  sweeper.unref();

  return {
    url: gateway.url,
    s3Endpoint: s3.endpoint,
    sfnEndpoint: sfn.url,
    managementEndpoint: gateway.managementEndpoint,
    dynamoEndpoint: dynamo.endpoint,
    dataDir,
    buckets: BUCKETS,
    ...(clamd ? { clamd: { host: clamd.host, port: clamd.port, startedHere: clamd.handle !== undefined } } : {}),
    async close() {
      clearInterval(sweeper);
      await gateway.close();
      await sfn.close();
      await stepFunctions.close();
      await tasks.close();
      await s3.close();
      await dynamo.close();
      await clamd?.handle?.stop();
    },
  };
}

/**
 * clamd for the antivirus check: CLAMD_HOST/CLAMD_PORT when set (someone else runs it), else our own clamd
 * with the shipped EICAR signatures when ClamAV is installed, else none: imports then fail closed.
 */
async function clamdFor(dataDir: string): Promise<{ host: string; port: number; handle?: ClamdHandle } | undefined> {
  if (process.env.CLAMD_HOST) return { host: process.env.CLAMD_HOST, port: Number(process.env.CLAMD_PORT ?? 3310) };
  if (!findClamd()) return undefined;
  const port = process.env.CLAMD_PORT ? Number(process.env.CLAMD_PORT) : await freePort();
  const handle = await startClamd({ dataDir, port });
  return { host: handle.host, port: handle.port, handle };
}
