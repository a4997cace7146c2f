/**
 * IAM enforcement for the local stack: code running inside a local Lambda invocation is bound to its
 * function's role (`runAs`), and an SDK middleware authorises every command it sends against that role
 * before the request leaves the process, failing a denied one with the error AWS returns. Outside any
 * role (the local stack's own plumbing, tests) calls pass untouched.
 */
import { CognitoIdentityProviderServiceException } from '@aws-sdk/client-cognito-identity-provider';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { ApiGatewayManagementApiServiceException, ForbiddenException } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { AccessDenied } from '@aws-sdk/client-s3';
import { SESv2ServiceException } from '@aws-sdk/client-sesv2';
import { SFNServiceException } from '@aws-sdk/client-sfn';
import type { FinalizeRequestMiddleware, InitializeMiddleware, Pluggable } from '@smithy/types';
import { evaluateRemembered } from './decision-cache';
import type { Decision, Evaluation, IamRequest, PolicyDocument, PolicyStatement } from './evaluate';
import { serviceOfClient, type SdkService } from './requests';

export interface LocalRole {
  /** The IAM role name (the CloudFormation logical id locally). */
  name: string;
  policies: readonly PolicyDocument[];
  /** The assumed-role session: Lambda names it after the function. Default: the role name. */
  session?: string;
  /** Default: the local stack's account, 000000000000. */
  account?: string;
}

const LOCAL_ACCOUNT = '000000000000';
const bound = new AsyncLocalStorage<LocalRole>();

/** Runs `fn` (and everything it awaits or schedules) as `role`. */
export function runAs<T>(role: LocalRole, fn: () => T): T {
  return bound.run(role, fn);
}

export const currentRole = (): LocalRole | undefined => bound.getStore();

/** The caller as AWS names it in its refusals: `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
export const principalArn = (role: LocalRole, partition = 'aws') =>
  `arn:${partition}:sts::${role.account ?? LOCAL_ACCOUNT}:assumed-role/${role.name}/${role.session ?? role.name}`;

export interface DecisionRecord {
  role: string;
  session: string;
  /** The SDK client's service; `presigned` for a presigned URL or POST used at the local S3; `Lambda` for a state machine's invoke. */
  service: SdkService | 'presigned' | 'Lambda';
  command: string;
  action: string;
  resource: string;
  decision: Decision;
  /** The statement that decided (the Deny, or the first Allow that matched): which grant a call used. */
  statement?: PolicyStatement;
}

/** AWS's wording: "User: <arn> is not authorized to perform: <action> on resource: <arn> because no identity-based policy allows the <action> action". */
export function accessDeniedMessage(role: LocalRole, request: IamRequest, decision: Exclude<Decision, 'Allow'>, quoteResource = false): string {
  const resource = quoteResource ? `"${request.resource}"` : request.resource;
  const on = request.resource === '*' ? '' : ` on resource: ${resource}`;
  const why = decision === 'ExplicitDeny' ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${request.action} action`;
  return `User: ${principalArn(role)} is not authorized to perform: ${request.action}${on} ${why}`;
}

/**
 * The exception the SDK surfaces when AWS refuses the call, built from the service package's own
 * classes so `instanceof` and `name` match: S3 `AccessDenied` (403, also for the KMS calls S3 makes for
 * the caller), DynamoDB and Step Functions `AccessDeniedException` (400), the management API
 * `ForbiddenException` (403), SES v2 `AccessDeniedException` (403).
 */
export function accessDeniedError(service: SdkService, role: LocalRole, request: IamRequest, decision: Exclude<Decision, 'Allow'>): Error {
  const requestId = randomUUID();
  const metadata = (httpStatusCode: number) => ({ httpStatusCode, requestId, attempts: 1, totalRetryDelay: 0 });
  switch (service) {
    case 'S3': {
      const error = new AccessDenied({ message: accessDeniedMessage(role, request, decision, true), $metadata: metadata(403) });
      return Object.assign(error, { Code: 'AccessDenied', RequestId: requestId, HostId: requestId });
    }
    case 'DynamoDB':
      return new DynamoDBServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: metadata(400), message: accessDeniedMessage(role, request, decision) });
    case 'SFN':
      return new SFNServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: metadata(400), message: accessDeniedMessage(role, request, decision) });
    case 'ApiGatewayManagementApi': {
      const error: ApiGatewayManagementApiServiceException = new ForbiddenException({ message: accessDeniedMessage(role, request, decision), $metadata: metadata(403) });
      return error;
    }
    case 'SESv2':
      return new SESv2ServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: metadata(403), message: accessDeniedMessage(role, request, decision) });
    case 'CognitoIdentityProvider':
      return new CognitoIdentityProviderServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: metadata(400),
        message: accessDeniedMessage(role, request, decision),
      });
  }
}

export interface Refusal {
  request: IamRequest;
  evaluation: Evaluation & { decision: Exclude<Decision, 'Allow'> };
}

/** Evaluates every request as `role` (decisions remembered: decision-cache.ts), reporting each decision; the first refused one, if any. */
export function firstRefusal(role: LocalRole, requests: readonly IamRequest[], report?: (request: IamRequest, evaluation: Evaluation) => void): Refusal | undefined {
  let refusal: Refusal | undefined;
  for (const request of requests) {
    const evaluation = evaluateRemembered(role.policies, request);
    report?.(request, evaluation);
    if (evaluation.decision !== 'Allow' && !refusal) refusal = { request, evaluation: { ...evaluation, decision: evaluation.decision } };
  }
  return refusal;
}

/** Authorises requests as `role` and throws the service's refusal (the local S3 uses it for presigned requests, as their signer). */
export function authorizeAs(role: LocalRole, service: SdkService, requests: readonly IamRequest[], onDecision?: (record: DecisionRecord) => void, command = 'presigned'): void {
  const refusal = firstRefusal(role, requests, (request, { decision, matchedStatement }) =>
    onDecision?.({ role: role.name, session: role.session ?? role.name, service, command, action: request.action, resource: request.resource, decision, ...(matchedStatement ? { statement: matchedStatement } : {}) }),
  );
  if (refusal) throw accessDeniedError(service, role, refusal.request, refusal.evaluation.decision);
}

/**
 * Who signed each presigned URL still valid, by its X-Amz-Signature: the local S3 authorises a
 * presigned request as its signer's role when the request arrives. The middleware fills it for
 * getSignedUrl; a presigned POST (createPresignedPost, no middleware) is registered by its caller.
 */
const signers = new Map<string, { role: LocalRole; expiresAt: number }>();

/** Told of every signer remembered here: a task process hands its signers to the stack's process, where the local S3 asks. */
let signerListener: ((signature: string, role: LocalRole, expiresAt: number) => void) | undefined;

export function onSignerRemembered(listener: (signature: string, role: LocalRole, expiresAt: number) => void): void {
  signerListener = listener;
}

export function rememberSigner(signature: string, role: LocalRole, expiresAt: number): void {
  const now = Date.now();
  for (const [key, entry] of signers) if (entry.expiresAt < now) signers.delete(key);
  signers.set(signature, { role, expiresAt });
  signerListener?.(signature, role, expiresAt);
}

export function signerOf(signature: string): LocalRole | undefined {
  const entry = signers.get(signature);
  return entry && entry.expiresAt >= Date.now() ? entry.role : undefined;
}

interface PresignedRequest {
  query?: Record<string, string | string[] | null>;
}

function recordPresignedSigner(role: LocalRole, output: unknown): void {
  const presigned = (output as { presigned?: PresignedRequest } | undefined)?.presigned;
  const signature = presigned?.query?.['X-Amz-Signature'];
  if (typeof signature !== 'string') return;
  const seconds = Number(presigned?.query?.['X-Amz-Expires'] ?? 900);
  rememberSigner(signature, role, Date.now() + seconds * 1000);
}

export interface IamEnforcementOptions {
  /** The IAM requests of one command (requests.ts `iamRequestsFor` with the local scope). */
  resolveRequests: (service: SdkService, commandName: string, input: Readonly<Record<string, unknown>>) => IamRequest[];
  /** Every decision, allowed or not (the recorder for "each role allows exactly what its code sends"). */
  onDecision?: (record: DecisionRecord) => void;
  /** `record`: report decisions but let every call pass. Default `enforce`. */
  mode?: 'enforce' | 'record';
}

/**
 * SDK v3 plugin: `client.middlewareStack.use(iamEnforcement(options))`. It runs right after request
 * signing, still before any network I/O. Not in `initialize`: getSignedUrl runs the same stack and
 * stops just before signing, and a presigned URL must not be authorised when it is signed, only when
 * it is used (as its signer), so sitting after the signer keeps presigning out.
 */
export function iamEnforcement<Input extends object, Output extends object>(options: IamEnforcementOptions): Pluggable<Input, Output> {
  const middleware: FinalizeRequestMiddleware<Input, Output> = (next, context) => async (args) => {
    const role = currentRole();
    if (!role) return next(args);
    const service = serviceOfClient(context.clientName ?? '');
    if (!service) throw new Error(`local IAM: no mapping for the SDK client ${context.clientName ?? '(unnamed)'}`);
    const command = context.commandName ?? '';
    const requests = options.resolveRequests(service, command, args.input as Readonly<Record<string, unknown>>);
    const refusal = firstRefusal(role, requests, (request, { decision, matchedStatement }) =>
      options.onDecision?.({ role: role.name, session: role.session ?? role.name, service, command, action: request.action, resource: request.resource, decision, ...(matchedStatement ? { statement: matchedStatement } : {}) }),
    );
    if (refusal && options.mode !== 'record') throw accessDeniedError(service, role, refusal.request, refusal.evaluation.decision);
    return next(args);
  };
  // In initialize, the outermost step: sees what getSignedUrl's intercept returns instead of a response.
  const presignRecorder: InitializeMiddleware<Input, Output> = (next) => async (args) => {
    const result = await next(args);
    const role = currentRole();
    if (role) recordPresignedSigner(role, result.output);
    return result;
  };
  return {
    applyToStack: (stack) => {
      stack.addRelativeTo(middleware, { name: 'localIamEnforcement', relation: 'after', toMiddleware: 'httpSigningMiddleware', override: true });
      stack.add(presignRecorder, { step: 'initialize', name: 'localIamPresignSigner', override: true });
    },
  };
}
