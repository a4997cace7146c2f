/**
 * Local IAM decisions, remembered: `evaluate` depends only on the role's policies, the request's action and
 * resource, and the values of the condition keys those policies name (looked up as IAM does, case-insensitively).
 * So a decision is kept per policy set under exactly that: action, resource and each named key's value (or its
 * absence). Context keys no statement names cannot change the outcome and are left out of the key; every key a
 * condition names is in it, so a request that differs there is evaluated afresh. The same decision, computed once.
 */
import { evaluate, type ConditionContext, type Evaluation, type IamRequest, type PolicyDocument } from './evaluate';

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

/** The first defined value of `key` in the context, as evaluate's lookup finds it; undefined when absent. */
function lookup(context: ConditionContext, key: string): ConditionContext[string] {
  for (const [name, value] of Object.entries(context)) if (name.toLowerCase() === key && value !== undefined) return value;
  return undefined;
}

/** The cache key: action, resource, and each named condition key's values as strings (conditions compare strings), or null. */
export function decisionKey(conditionKeys: readonly string[], request: IamRequest): string {
  const relevant = conditionKeys.map((key) => {
    const value = lookup(request.context, key);
    return value === undefined ? null : [value].flat().map(String);
  });
  return JSON.stringify([request.action, request.resource, relevant]);
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
