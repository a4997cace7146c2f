/**
 * The local stack's IAM switch, `LOCAL_IAM=enforce|record|off` (default enforce): stack.ts installs the
 * roles once, the composition root passes each SDK client through `withLocalIam`, and the invoker runs
 * each handler as its function's role (`asFunction`). `record` lets every call pass and keeps the decisions.
 */
import type { Pluggable } from '@smithy/types';
import { iamEnforcement, runAs, type DecisionRecord } from './enforce';
import type { LocalIam } from './local-iam';
import { iamRequestsFor } from './requests';

export type LocalIamMode = 'enforce' | 'record' | 'off';

export const localIamModeFromEnv = (env = process.env): LocalIamMode => {
  const mode = env.LOCAL_IAM ?? 'enforce';
  if (mode !== 'enforce' && mode !== 'record' && mode !== 'off') throw new Error(`LOCAL_IAM must be enforce, record or off, not "${mode}"`);
  return mode;
};

let installed: { iam: LocalIam; mode: Exclude<LocalIamMode, 'off'>; decisions: DecisionRecord[] } | undefined;

export function installLocalIam(iam: LocalIam, mode: LocalIamMode): void {
  installed = mode === 'off' ? undefined : { iam, mode, decisions: [] };
}

/** Every decision since install (allowed and refused), for `record` mode's comparison with the roles. */
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
      onDecision: (record) => current.decisions.push(record),
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
