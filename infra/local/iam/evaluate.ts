/**
 * The subset of IAM's evaluation of identity-based policies that Ferry's roles use, following
 * "Policy evaluation logic" and "IAM JSON policy elements" in the IAM User Guide: an explicit Deny
 * wins, then any Allow, else the request is implicitly denied. No resource policies, permission
 * boundaries, SCPs or session policies: the local stack runs one account with identity policies only.
 */

export type ConditionValue = string | number | boolean;
/** Request context: condition key (case-insensitive, as IAM treats key names) → value(s); absent = missing. */
export type ConditionContext = Readonly<Record<string, ConditionValue | readonly ConditionValue[] | undefined>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, ConditionValue | ConditionValue[]>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

export interface IamRequest {
  /** `service:Action`, e.g. `s3:GetObject`. */
  action: string;
  /** The resource ARN, or `*` for an action that takes no resource type. */
  resource: string;
  context: ConditionContext;
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

export interface Evaluation {
  decision: Decision;
  /** The Deny that decided, or the first Allow that matched. */
  matchedStatement?: PolicyStatement;
}

const list = <T>(value: T | readonly T[] | undefined): readonly T[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as readonly T[]) : [value as T];

const escapeRegex = (text: string) => text.replace(/[.+^${}()|[\]\\]/g, '\\$&');

/** `*` any run, `?` one character, everything else literal (StringLike, Action). */
function globRegex(pattern: string, flags = ''): RegExp {
  const body = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegex(c))).join('');
  return new RegExp(`^${body}$`, flags);
}

const cache = new Map<string, RegExp>();
function cached(key: string, build: () => RegExp): RegExp {
  let regex = cache.get(key);
  if (!regex) cache.set(key, (regex = build()));
  return regex;
}

/** Action names match case-insensitively, service prefix included ("Action" element). */
export function actionMatches(pattern: string, action: string): boolean {
  return cached(`a:${pattern}`, () => globRegex(pattern, 'i')).test(action);
}

/**
 * ARN matching ("Resource" element, ArnLike): case-sensitive; `*` and `?` match within a colon-separated
 * segment, and a `*` that ends a segment may also run past its colons (the docs: "If the * wildcard is
 * the last character of a resource ARN segment, it can expand to match beyond the colon boundaries").
 */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const regex = cached(`r:${pattern}`, () => {
    const chars = [...pattern];
    const body = chars
      .map((c, i) => {
        if (c === '*') return i === chars.length - 1 || chars[i + 1] === ':' ? '.*' : '[^:]*';
        if (c === '?') return '[^:]';
        return escapeRegex(c);
      })
      .join('');
    return new RegExp(`^${body}$`);
  });
  return regex.test(arn);
}

// ---- Condition operators -------------------------------------------------------------------------

type Compare = (contextValue: string, policyValue: string) => boolean;

const number = (text: string) => (text.trim() === '' ? Number.NaN : Number(text));
const date = (text: string) => (/^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text));
const numeric = (test: (a: number, b: number) => boolean, parse: (t: string) => number): Compare => (c, p) => {
  const a = parse(c);
  const b = parse(p);
  return !Number.isNaN(a) && !Number.isNaN(b) && test(a, b);
};

/** Positive comparison per operator; a negated operator is "matches none of the values" of its positive. */
const OPERATORS: Readonly<Record<string, { compare: Compare; negated: boolean }>> = (() => {
  const positive: Record<string, Compare> = {
    StringEquals: (c, p) => c === p,
    StringEqualsIgnoreCase: (c, p) => c.toLowerCase() === p.toLowerCase(),
    StringLike: (c, p) => cached(`s:${p}`, () => globRegex(p)).test(c),
    NumericEquals: numeric((a, b) => a === b, number),
    NumericLessThan: numeric((a, b) => a < b, number),
    NumericLessThanEquals: numeric((a, b) => a <= b, number),
    NumericGreaterThan: numeric((a, b) => a > b, number),
    NumericGreaterThanEquals: numeric((a, b) => a >= b, number),
    DateEquals: numeric((a, b) => a === b, date),
    DateLessThan: numeric((a, b) => a < b, date),
    DateLessThanEquals: numeric((a, b) => a <= b, date),
    DateGreaterThan: numeric((a, b) => a > b, date),
    DateGreaterThanEquals: numeric((a, b) => a >= b, date),
    Bool: (c, p) => c.toLowerCase() === p.toLowerCase(),
    // The docs: ArnEquals and ArnLike behave alike, segment by segment, wildcards allowed.
    ArnEquals: (c, p) => arnMatches(p, c),
    ArnLike: (c, p) => arnMatches(p, c),
  };
  const negations: Record<string, string> = {
    StringNotEquals: 'StringEquals',
    StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
    StringNotLike: 'StringLike',
    NumericNotEquals: 'NumericEquals',
    DateNotEquals: 'DateEquals',
    ArnNotEquals: 'ArnEquals',
    ArnNotLike: 'ArnLike',
  };
  const table: Record<string, { compare: Compare; negated: boolean }> = {};
  for (const [name, compare] of Object.entries(positive)) table[name] = { compare, negated: false };
  for (const [name, of] of Object.entries(negations)) table[name] = { compare: positive[of]!, negated: true };
  return table;
})();

function contextLookup(context: ConditionContext, key: string): readonly string[] | undefined {
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(context)) {
    if (name.toLowerCase() === wanted && value !== undefined) return list(value).map(String);
  }
  return undefined;
}

function conditionHolds(operatorName: string, key: string, policyValues: readonly string[], context: ConditionContext): boolean {
  const values = contextLookup(context, key);
  if (operatorName === 'Null') {
    // "Null": true means the key must be absent, false that it must be present.
    const wantAbsent = policyValues.some((v) => v.toLowerCase() === 'true');
    return wantAbsent === (values === undefined);
  }
  let name = operatorName;
  let qualifier: 'ForAllValues' | 'ForAnyValue' | undefined;
  const colon = name.indexOf(':');
  if (colon >= 0) {
    const prefix = name.slice(0, colon);
    if (prefix !== 'ForAllValues' && prefix !== 'ForAnyValue') throw new Error(`unsupported condition qualifier ${prefix}`);
    qualifier = prefix;
    name = name.slice(colon + 1);
  }
  const ifExists = name.endsWith('IfExists');
  if (ifExists) name = name.slice(0, -'IfExists'.length);
  const operator = OPERATORS[name];
  if (!operator) throw new Error(`unsupported condition operator ${operatorName}`);

  // Each context value against the policy values: positive = matches any of them; negated = matches none.
  const valueMatches = (value: string) => {
    const any = policyValues.some((p) => operator.compare(value, p));
    return operator.negated ? !any : any;
  };

  if (qualifier === 'ForAllValues') {
    // The documented pitfall: a missing key (or an empty set) makes ForAllValues true.
    return (values ?? []).every(valueMatches);
  }
  if (qualifier === 'ForAnyValue') {
    return values !== undefined && values.some(valueMatches);
  }
  if (values === undefined) {
    // IfExists: "if the key is not present, evaluate the condition as true". A negated operator
    // with a missing key matches, too (nothing in the request equals the policy's values).
    return ifExists || operator.negated;
  }
  // A single-valued operator on a multivalued key: positive if any value matches, negated if none does.
  if (operator.negated) return values.every(valueMatches);
  return values.some(valueMatches);
}

function conditionsHold(condition: PolicyStatement['Condition'], context: ConditionContext): boolean {
  if (!condition) return true;
  // Operators AND'ed, keys within an operator AND'ed, values of one key OR'ed.
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, list(values).map(String), context)),
  );
}

function statementApplies(statement: PolicyStatement, request: IamRequest): boolean {
  const actionHit =
    statement.NotAction !== undefined
      ? !list(statement.NotAction).some((p) => actionMatches(p, request.action))
      : list(statement.Action).some((p) => actionMatches(p, request.action));
  if (!actionHit) return false;
  const resourceHit =
    statement.NotResource !== undefined
      ? !list(statement.NotResource).some((p) => arnMatches(p, request.resource))
      : list(statement.Resource).some((p) => arnMatches(p, request.resource));
  if (!resourceHit) return false;
  return conditionsHold(statement.Condition, request.context);
}

/** IAM's decision for one request against a principal's identity-based policies. */
export function evaluate(policies: readonly PolicyDocument[], request: IamRequest): Evaluation {
  let allow: PolicyStatement | undefined;
  for (const policy of policies) {
    for (const statement of list(policy.Statement)) {
      if (!statementApplies(statement, request)) continue;
      if (statement.Effect === 'Deny') return { decision: 'ExplicitDeny', matchedStatement: statement };
      allow ??= statement;
    }
  }
  return allow ? { decision: 'Allow', matchedStatement: allow } : { decision: 'ImplicitDeny' };
}
