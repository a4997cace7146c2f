import * as z from 'zod';
import { EXPORT_SLICE_ROWS_DEFAULT, MAX_EXPORT_ROWS_SLICED, MAX_IMPORT_BYTES_ONE_TASK } from '../core/capacity';
import { parseResourceTypes } from '../core/resource/config';
import {
  DEFAULT_IMPORT_CHUNK_BYTES,
  DEFAULT_IMPORT_CHUNK_CONCURRENCY,
  DEFAULT_IMPORT_PLAN_STEP_BYTES,
  DEFAULT_SCAN_RANGE_BYTES,
  DEFAULT_SCAN_RANGE_OVERLAP_BYTES,
  DEFAULT_SCAN_RANGE_CONCURRENCY,
  DEFAULT_CHECKSUM_STEP_BYTES,
} from '../core/import/config';

/**
 * Configuration, parsed once from the environment into a frozen typed object.
 * The same variables drive AWS (set by serverless.yml) and the local stack (set by infra/local/start.ts).
 */
const ConfigSchema = z.object({
  /** Where the local stack keeps its data (search store, records, outbox, local S3). */
  dataDir: z.string().default('.data'),
  region: z.string().default('us-east-1'),

  exportsBucket: z.string().min(1),
  exportTtlHours: z.coerce.number().positive().default(72),

  /** Set: search through OpenSearch. Unset: the embedded SQLite FTS5 store under dataDir. */
  opensearchUrl: z.url().optional(),
  opensearchIndex: z.string().default('posts'),

  /** Local stand-ins: endpoints of the local S3, Step Functions service and WebSocket management API. */
  s3Endpoint: z.url().optional(),
  sfnEndpoint: z.url().optional(),
  wsManagementEndpoint: z.url().optional(),

  exportStateMachineArn: z.string().min(1),
  importStateMachineArn: z.string().optional(),

  /** Imports: browsers upload here (objects expire after 24 h); originals move to permanent, infected files to quarantine. */
  uploadsBucket: z.string().min(1),
  permanentBucket: z.string().min(1),
  quarantineBucket: z.string().min(1),
  /** Largest import file accepted: what one task checks and imports within its timeout (core/capacity.ts). Default 1 GiB. */
  maxImportBytes: z.coerce.number().int().positive().default(MAX_IMPORT_BYTES_ONE_TASK),
  /**
   * Largest export (estimated rows from the search total) one task writes within its timeout (core/capacity.ts);
   * `unlimited` (the local stack's default) checks nothing.
   */
  maxExportRows: z
    .union([z.literal('unlimited').transform(() => Number.POSITIVE_INFINITY), z.coerce.number().int().positive()])
    .default(MAX_EXPORT_ROWS_SLICED),
  /**
   * Exports matching more rows than this (the search total) are sliced: slices of about this many rows, each
   * its own task, written into one multipart upload (core/export/slices.ts). `unlimited`: never sliced.
   */
  exportSliceRows: z
    .union([z.literal('unlimited').transform(() => Number.POSITIVE_INFINITY), z.coerce.number().int().positive()])
    .default(EXPORT_SLICE_ROWS_DEFAULT),
  /** Slices of one export written at the same time (the Map's MaxConcurrency). */
  exportSliceConcurrency: z.coerce.number().int().min(1).max(1000).default(10),
  /** Files of one batch checked and imported at the same time (the Map state's MaxConcurrency). */
  importMapConcurrency: z.coerce.number().int().min(1).max(1000).default(10),
  /**
   * The import engine's fair shares (core/import/slots.ts): files checked and processed at once across every user
   * (IMPORT_SLOTS), of which one user's at most (IMPORT_SLOTS_PER_USER); a slot not given back within
   * IMPORT_SLOT_LEASE_SECONDS (a crashed task) is taken back, a waiting file silent for IMPORT_SLOT_WAITER_SECONDS is forgotten.
   */
  importSlots: z.coerce.number().int().min(1).max(1000).default(10),
  importSlotsPerUser: z.coerce.number().int().min(1).max(1000).default(5),
  importSlotLeaseSeconds: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(6 * 3600),
  importSlotWaiterSeconds: z.coerce.number().int().min(30).max(24 * 3600).default(300),
  /** About this many bytes per chunk of a large import (core/import/chunks.ts); smaller files are one chunk. Default 64 MiB. */
  importChunkBytes: z.coerce.number().int().min(1).default(DEFAULT_IMPORT_CHUNK_BYTES),
  /** At most this many bytes of a file per invocation of "Plan the file's chunks": a larger file is planned in steps. Default 4 GiB. */
  importPlanStepBytes: z.coerce.number().int().min(1).default(DEFAULT_IMPORT_PLAN_STEP_BYTES),
  /** Chunks of one file imported at the same time ("Import each chunk"'s MaxConcurrency). Default 4. */
  importChunkConcurrency: z.coerce.number().int().min(1).max(40).default(DEFAULT_IMPORT_CHUNK_CONCURRENCY),
  /** A file larger than this plus the overlap is scanned in ranges of this size (clamd's StreamMaxLength 2000M). */
  scanRangeBytes: z.coerce.number().int().min(1).default(DEFAULT_SCAN_RANGE_BYTES),
  /** Bytes each scanned range reaches into the next, so a signature across a boundary up to this long is seen. */
  scanRangeOverlapBytes: z.coerce.number().int().min(0).default(DEFAULT_SCAN_RANGE_OVERLAP_BYTES),
  /** Ranges of one file scanned at the same time ("Scan each range"'s MaxConcurrency). Default 4. */
  scanRangeConcurrency: z.coerce.number().int().min(1).max(40).default(DEFAULT_SCAN_RANGE_CONCURRENCY),
  /** At most this many bytes of a file per invocation of "Compute checksum": a larger file is hashed in steps. Default 4 GiB. */
  checksumStepBytes: z.coerce.number().int().min(1).default(DEFAULT_CHECKSUM_STEP_BYTES),
  /** How long an import waits in NEEDS_MAPPING for its column mapping before it ends EXPIRED (IMPORT_MAPPING_TIMEOUT_SECONDS). Default 24 h. */
  importMappingTimeoutSeconds: z.coerce
    .number()
    .int()
    .min(1)
    .max(365 * 24 * 3600)
    .default(24 * 3600),
  /** Import records in DynamoDB (required in both homes). */
  importsTable: z.string().optional(),
  /** Resources: the types kept (RESOURCE_TYPES, MIME types or `type/*`, comma-separated; core/resource/config.ts has the default). */
  resourceTypes: z.string().optional().transform(parseResourceTypes),
  /** Export job records in DynamoDB (required in both homes). */
  jobsTable: z.string().optional(),
  /** The Cognito user pool whose users exports are shared with (AWS; AUTH_MODE=cognito names it in COGNITO_USER_POOL_ID). */
  userPoolId: z.string().optional(),
  /** clamd for the antivirus check. Unset: every import fails closed ("no virus scanner"). */
  clamdHost: z.string().optional(),
  clamdPort: z.coerce.number().int().min(1).max(65535).default(3310),
  /** Bound on one virus scan (SCAN_TIMEOUT_SECONDS): a scanner silent that long fails the import closed. Keep it under the scan Lambda's timeout. */
  scanTimeoutSeconds: z.coerce.number().positive().default(600),

  /** Audit and connection records in DynamoDB (the local stack's tables live on dynalite). */
  auditTable: z.string().optional(),
  connectionsTable: z.string().optional(),
  /** Set: DynamoDB at this endpoint (the local stack's dynalite); unset in AWS. */
  dynamodbEndpoint: z.url().optional(),

  /** Mail: 'ses' in AWS; 'outbox' writes .eml files under dataDir; SMTP_URL switches to SMTP. */
  mailTransport: z.enum(['ses', 'outbox', 'smtp']).default('outbox'),
  smtpUrl: z.string().optional(),
  mailFrom: z.string().default('Ferry <no-reply@ferry.local>'),
  adminEmail: z.string().default('admin@ferry.local'),
  /** Public URL of the web app, used in emails. */
  appUrl: z.string().default('http://localhost:3000'),

  /** ID token verification: Cognito's issuer and JWKS in AWS, the local issuer's locally. */
  jwtIssuer: z.string().min(1),
  jwtAudience: z.string().optional(),
  jwksUrl: z.url(),

  /** Sign-in: 'local' (the local token issuer) or 'cognito' (COGNITO_*: the user pool sets issuer, audience and JWKS). */
  authMode: z.enum(['local', 'cognito']).default('local'),
  cognito: z
    .object({
      userPoolId: z.string(),
      clientId: z.string(),
      region: z.string(),
      endpoint: z.url().optional(),
      authFlow: z.enum(['USER_SRP_AUTH', 'USER_PASSWORD_AUTH']).optional(),
    })
    .optional(),
  /** Set: the SES v2 API at this endpoint (an emulator); unset in AWS. */
  sesEndpoint: z.url().optional(),
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;

export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cognito = cognitoPoolFromEnv(env);
  const parsed = ConfigSchema.safeParse({
    dataDir: env.DATA_DIR,
    region: env.AWS_REGION,
    exportsBucket: env.EXPORTS_BUCKET,
    exportTtlHours: env.EXPORT_TTL_HOURS,
    opensearchUrl: env.OPENSEARCH_URL || undefined,
    opensearchIndex: env.OPENSEARCH_INDEX,
    s3Endpoint: env.S3_ENDPOINT || undefined,
    sfnEndpoint: env.SFN_ENDPOINT || undefined,
    wsManagementEndpoint: env.WS_MANAGEMENT_ENDPOINT || undefined,
    exportStateMachineArn: env.EXPORT_STATE_MACHINE_ARN,
    importStateMachineArn: env.IMPORT_STATE_MACHINE_ARN || undefined,
    uploadsBucket: env.UPLOADS_BUCKET,
    permanentBucket: env.PERMANENT_BUCKET,
    quarantineBucket: env.QUARANTINE_BUCKET,
    maxImportBytes: env.MAX_IMPORT_BYTES || undefined,
    maxExportRows: env.MAX_EXPORT_ROWS || undefined,
    exportSliceRows: env.EXPORT_SLICE_ROWS || undefined,
    exportSliceConcurrency: env.EXPORT_SLICE_CONCURRENCY || undefined,
    importMapConcurrency: env.IMPORT_MAP_CONCURRENCY || undefined,
    importSlots: env.IMPORT_SLOTS || undefined,
    importSlotsPerUser: env.IMPORT_SLOTS_PER_USER || undefined,
    importSlotLeaseSeconds: env.IMPORT_SLOT_LEASE_SECONDS || undefined,
    importSlotWaiterSeconds: env.IMPORT_SLOT_WAITER_SECONDS || undefined,
    importChunkBytes: env.IMPORT_CHUNK_BYTES || undefined,
    importPlanStepBytes: env.IMPORT_PLAN_STEP_BYTES || undefined,
    importChunkConcurrency: env.IMPORT_CHUNK_CONCURRENCY || undefined,
    scanRangeBytes: env.SCAN_RANGE_BYTES || undefined,
    scanRangeOverlapBytes: env.SCAN_RANGE_OVERLAP_BYTES || undefined,
    scanRangeConcurrency: env.SCAN_RANGE_CONCURRENCY || undefined,
    checksumStepBytes: env.CHECKSUM_STEP_BYTES || undefined,
    importMappingTimeoutSeconds: env.IMPORT_MAPPING_TIMEOUT_SECONDS || undefined,
    importsTable: env.IMPORTS_TABLE || undefined,
    resourceTypes: env.RESOURCE_TYPES || undefined,
    jobsTable: env.JOBS_TABLE || undefined,
    userPoolId: env.USER_POOL_ID || undefined,
    clamdHost: env.CLAMD_HOST || undefined,
    clamdPort: env.CLAMD_PORT || undefined,
    scanTimeoutSeconds: env.SCAN_TIMEOUT_SECONDS || undefined,
    auditTable: env.AUDIT_TABLE || undefined,
    connectionsTable: env.CONNECTIONS_TABLE || undefined,
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    mailTransport: env.SMTP_URL ? 'smtp' : env.MAIL_TRANSPORT || undefined,
    smtpUrl: env.SMTP_URL || undefined,
    mailFrom: env.MAIL_FROM,
    adminEmail: env.ADMIN_EMAIL,
    appUrl: env.APP_URL,
    jwtIssuer: env.JWT_ISSUER,
    jwtAudience: env.JWT_AUDIENCE || undefined,
    jwksUrl: env.JWKS_URL,
    ...(cognito ? { authMode: 'cognito', cognito, ...cognitoVerification(cognito) } : {}),
    sesEndpoint: env.SES_ENDPOINT || undefined,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Ferry configuration is incomplete: ${problems}`);
  }
  return Object.freeze(parsed.data);
}

/** A Cognito user pool and the web app's client in it; `endpoint` only for an emulator (unset in AWS). */
export interface CognitoPool {
  userPoolId: string;
  clientId: string;
  region: string;
  endpoint?: string;
  /** The web app's sign-in flow: SRP unless COGNITO_AUTH_FLOW=USER_PASSWORD_AUTH (moto_server checks passwords only there). */
  authFlow?: 'USER_SRP_AUTH' | 'USER_PASSWORD_AUTH';
}

/** `AUTH_MODE=cognito` with COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID, COGNITO_REGION (and COGNITO_ENDPOINT for an emulator). */
export function cognitoPoolFromEnv(env: NodeJS.ProcessEnv = process.env): CognitoPool | undefined {
  if ((env.AUTH_MODE ?? 'local') === 'local') return undefined;
  if (env.AUTH_MODE !== 'cognito')
    throw new Error(`Ferry configuration is incomplete: AUTH_MODE must be "local" or "cognito", not "${env.AUTH_MODE}"`);
  const missing = ['COGNITO_USER_POOL_ID', 'COGNITO_CLIENT_ID', 'COGNITO_REGION'].filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`Ferry configuration is incomplete: AUTH_MODE=cognito needs ${missing.join(', ')}`);
  const authFlow = env.COGNITO_AUTH_FLOW || undefined;
  if (authFlow !== undefined && authFlow !== 'USER_SRP_AUTH' && authFlow !== 'USER_PASSWORD_AUTH') {
    throw new Error('Ferry configuration is incomplete: COGNITO_AUTH_FLOW must be USER_SRP_AUTH or USER_PASSWORD_AUTH');
  }
  return {
    ...(authFlow ? { authFlow } : {}),
    userPoolId: env.COGNITO_USER_POOL_ID!,
    clientId: env.COGNITO_CLIENT_ID!,
    region: env.COGNITO_REGION!,
    ...(env.COGNITO_ENDPOINT ? { endpoint: env.COGNITO_ENDPOINT.replace(/\/+$/, '') } : {}),
  };
}

/**
 * What an ID token of the pool must carry. The issuer is always Cognito's own URL for the pool: AWS
 * writes it, and moto_server writes the same one whatever endpoint it listens on. Only the JWKS moves
 * with a custom endpoint (`<endpoint>/<poolId>/.well-known/jwks.json`, as moto serves it).
 */
export function cognitoVerification(pool: CognitoPool): { jwtIssuer: string; jwtAudience: string; jwksUrl: string } {
  const jwtIssuer = `https://cognito-idp.${pool.region}.amazonaws.com/${pool.userPoolId}`;
  const jwksUrl = pool.endpoint ? `${pool.endpoint}/${pool.userPoolId}/.well-known/jwks.json` : `${jwtIssuer}/.well-known/jwks.json`;
  return { jwtIssuer, jwtAudience: pool.clientId, jwksUrl };
}

let current: Config | undefined;

/** The process's configuration, parsed once on first use; an incomplete one throws and is read again next time. */
export const getConfig = (): Config => (current ??= parseConfig());
