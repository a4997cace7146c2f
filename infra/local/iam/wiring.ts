/**
 * The local stack's IAM switch, `LOCAL_IAM=enforce|record|off` (default enforce): stack.ts installs the
 * roles once, the composition root passes each SDK client through `withLocalIam`, and the invoker runs
 * each handler as its function's role (`asFunction`). `record` lets every call pass and keeps the decisions.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Pluggable } from '@smithy/types';
import { accessDeniedMessage, currentRole, firstRefusal, iamEnforcement, rememberSigner, runAs, signerOf, type DecisionRecord, type LocalRole } from './enforce';
import type { PresignedUse } from '../s3-front/front';
import type { LocalIam } from './local-iam';
import { iamRequestsFor, presignedS3Requests } from './requests';
import { lambdaInvokeRequest } from './roles';

export type LocalIamMode = 'enforce' | 'record' | 'off';

export const localIamModeFromEnv = (env = process.env): LocalIamMode => {
  const mode = env.LOCAL_IAM ?? 'enforce';
  if (mode !== 'enforce' && mode !== 'record' && mode !== 'off') throw new Error(`LOCAL_IAM must be enforce, record or off, not "${mode}"`);
  return mode;
};

let installed: { iam: LocalIam; mode: Exclude<LocalIamMode, 'off'>; decisions: DecisionRecord[]; decisionsFile?: string } | undefined;

/** `decisionsFile`: every decision is also appended there as a JSON line (the stack does it in `record` mode). */
export function installLocalIam(iam: LocalIam, mode: LocalIamMode, options: { decisionsFile?: string } = {}): void {
  installed = mode === 'off' ? undefined : { iam, mode, decisions: [], ...(options.decisionsFile ? { decisionsFile: options.decisionsFile } : {}) };
  if (options.decisionsFile) mkdirSync(dirname(options.decisionsFile), { recursive: true });
}

/** The latest decisions kept in memory: a long-running `npm start` must not grow without bound (the file keeps all). */
const KEPT_DECISIONS = 10_000;

function keep(record: DecisionRecord): void {
  if (!installed) return;
  installed.decisions.push(record);
  if (installed.decisions.length > KEPT_DECISIONS) installed.decisions.splice(0, installed.decisions.length - KEPT_DECISIONS);
  if (installed.decisionsFile) appendFileSync(installed.decisionsFile, `${JSON.stringify(record)}\n`);
}

/** The decisions since install (allowed and refused; the latest 10,000), for tests and `record` mode. */
export const recordedDecisions = (): readonly DecisionRecord[] => installed?.decisions ?? [];

interface WithMiddleware {
  middlewareStack: { use(pluggable: Pluggable<object, object>): void };
}

export function withLocalIam<C extends object>(client: C): C {
  const current = installed;
  if (!current) return client;
  if (!('middlewareStack' in client)) throw new Error('local IAM: withLocalIam takes an AWS SDK v3 client');
  (client as C & WithMiddleware).middlewareStack.use(
    iamEnforcement({
      resolveRequests: (service, command, input) => iamRequestsFor(current.iam.scope, service, command, input),
      onDecision: keep,
      mode: current.mode,
    }),
  );
  return client;
}

/** Runs one invocation of `functionKey` as its role; unrestricted when local IAM is off. */
export function asFunction<T>(functionKey: string, fn: () => T): T {
  const role = installed?.iam.functionRoles[functionKey];
  return role ? runAs(role, fn) : fn();
}

/** Lambda's refusal of an invocation, as a Task sees it (its Retry/Catch match the name). */
const lambdaAccessDenied = (message: string): Error =>
  Object.assign(new Error(`${message} (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException)`), { name: 'Lambda.AWSLambdaException' });

/**
 * Before the local Step Functions runs a Task: the state machine's role must allow lambda:InvokeFunction
 * on the function, as AWS checks. Unrestricted when local IAM is off or the machine has no known role.
 */
export function authorizeStateMachineInvoke(stateMachineName: string, functionArn: string): void {
  const current = installed;
  const role = current?.iam.stateMachineRoles[stateMachineName];
  if (!current || !role) return;
  const request = lambdaInvokeRequest(functionArn);
  const refusal = firstRefusal(role, [request], (r, { decision, matchedStatement }) =>
    keep({ role: role.name, session: role.session ?? role.name, service: 'Lambda', command: 'Invoke', action: r.action, resource: r.resource, decision, ...(matchedStatement ? { statement: matchedStatement } : {}) }),
  );
  if (refusal && current.mode === 'enforce') throw lambdaAccessDenied(accessDeniedMessage(role, refusal.request, refusal.evaluation.decision));
}

/** A presigned POST is signed without the SDK's middleware: its signer is registered here, as the calling function's role. */
export function rememberPresignedPostSigner(signature: string | undefined, expiresAt: number): void {
  const role = installed ? currentRole() : undefined;
  if (role && signature) rememberSigner(signature, role, expiresAt);
}

/**
 * The local S3 on a presigned request or POST: authorised as the role that signed it, when it is used.
 * Returns S3's refusal message, or undefined when allowed (or signed outside any role: tests, the stack's own).
 */
export function presignedRefusal(use: PresignedUse): string | undefined {
  const current = installed;
  const signer: LocalRole | undefined = current ? signerOf(use.signature) : undefined;
  if (!current || !signer) return undefined;
  const refusal = firstRefusal(signer, presignedS3Requests(current.iam.scope, use), (r, { decision, matchedStatement }) =>
    keep({ role: signer.name, session: signer.session ?? signer.name, service: 'presigned', command: use.method, action: r.action, resource: r.resource, decision, ...(matchedStatement ? { statement: matchedStatement } : {}) }),
  );
  return refusal && current.mode === 'enforce' ? accessDeniedMessage(signer, refusal.request, refusal.evaluation.decision, true) : undefined;
}
