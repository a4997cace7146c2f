/**
 * Local IAM decisions, remembered: `evaluate` depends only on the role's policies, the request's action and
 * resource, and the values of the condition keys those policies name (looked up as IAM does, case-insensitively).
 * So a decision is kept per policy set under exactly that: action, resource and each named key's value (or its
 * absence). Context keys no statement names cannot change the outcome and are left out of the key; every key a
 * condition names is in it, so a request that differs there is evaluated afresh. The same decision, computed once.
 */
import { evaluate, type ConditionValue, type Evaluation, type IamRequest, type PolicyDocument } from './evaluate';

/** Per policy set; past it the set's decisions are dropped and learnt again (request contexts such as LeadingKeys vary without bound). */
const MAX_DECISIONS_PER_ROLE = 5_000;

interface RoleDecisions {
  /** The condition keys any statement names, lower-cased. */
  conditionKeys: readonly string[];
  decisions: Map<string, Evaluation>;
}

const byPolicies = new WeakMap<readonly PolicyDocument[], RoleDecisions>();

function roleDecisions(policies: readonly PolicyDocument[]): RoleDecisions {
  let role = byPolicies.get(policies);
  if (!role) {
    const keys = new Set<string>();
    for (const policy of policies) {
      for (const statement of [policy.Statement].flat()) {
        for (const byKey of Object.values(statement.Condition ?? {})) for (const key of Object.keys(byKey)) keys.add(key.toLowerCase());
      }
    }
    byPolicies.set(policies, (role = { conditionKeys: [...keys].sort(), decisions: new Map() }));
  }
  return role;
}

/**
 * The cache key: action, resource, then for each named condition key its values as strings (conditions compare
 * strings), each prefixed by its length so no two value lists read alike, or `-` for its absence; found as evaluate
 * finds it (the first defined value under a case-insensitive name). NUL separates the parts: no action or ARN holds one.
 */
export function decisionKey(conditionKeys: readonly string[], request: IamRequest): string {
  let key = `${request.action}\u0000${request.resource}`;
  if (conditionKeys.length === 0) return key;
  const names = Object.keys(request.context);
  for (const wanted of conditionKeys) {
    const name = names.find((candidate) => candidate.toLowerCase() === wanted && request.context[candidate] !== undefined);
    if (name === undefined) {
      key += '\u0000-';
      continue;
    }
    const value = request.context[name]!;
    key += '\u0000=';
    for (const item of Array.isArray(value) ? (value as readonly ConditionValue[]) : [value as ConditionValue]) {
      const text = String(item);
      key += `${text.length}:${text}`;
    }
  }
  return key;
}

/** evaluate(policies, request), remembered per policy set and decision key. */
export function evaluateRemembered(policies: readonly PolicyDocument[], request: IamRequest): Evaluation {
  const role = roleDecisions(policies);
  const key = decisionKey(role.conditionKeys, request);
  let evaluation = role.decisions.get(key);
  if (!evaluation) {
    evaluation = evaluate(policies, request);
    if (role.decisions.size >= MAX_DECISIONS_PER_ROLE) role.decisions.clear();
    role.decisions.set(key, evaluation);
  }
  return evaluation;
}
