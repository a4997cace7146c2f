import { policyViolation, S3Refusal } from './errors';

/**
 * A presigned POST's policy, checked as S3 checks it: not expired, every condition met by the form (field
 * names compare case-insensitively, values exactly), and every form field but the signature, the policy,
 * the file and `x-ignore-*` covered by some condition. The file's size is checked while it streams
 * (`sizeRange`), since the form arrives before its bytes.
 */

export type FormFields = ReadonlyMap<string, string>;

type Condition = { kind: 'eq' | 'starts-with'; field: string; value: string; text: string } | { kind: 'range'; min: number; max: number };

export interface CheckedPolicy {
  /** From content-length-range; undefined when the policy sets none. */
  sizeRange?: { min: number; max: number };
}

const EXEMPT = new Set(['x-amz-signature', 'policy', 'file']);

function parseConditions(document: unknown): { expiration: Date; conditions: Condition[] } {
  const malformed = (why: string) => new S3Refusal(400, 'InvalidArgument', `Invalid Policy: ${why}`);
  if (typeof document !== 'object' || document === null) throw malformed('not a JSON object.');
  const { expiration, conditions } = document as { expiration?: unknown; conditions?: unknown };
  const expires = typeof expiration === 'string' ? new Date(expiration) : undefined;
  if (!expires || Number.isNaN(expires.getTime())) throw malformed('Invalid \'expiration\' value.');
  if (!Array.isArray(conditions)) throw malformed('Policy missing conditions.');
  return {
    expiration: expires,
    conditions: conditions.map((condition: unknown): Condition => {
      const text = JSON.stringify(condition);
      if (Array.isArray(condition)) {
        const [op, a, b] = condition as unknown[];
        if (op === 'content-length-range' && Number.isSafeInteger(a) && Number.isSafeInteger(b)) return { kind: 'range', min: a as number, max: b as number };
        if ((op === 'eq' || op === 'starts-with') && typeof a === 'string' && a.startsWith('$') && typeof b === 'string') {
          return { kind: op, field: a.slice(1).toLowerCase(), value: b, text };
        }
      } else if (typeof condition === 'object' && condition !== null) {
        const entries = Object.entries(condition);
        const [entry] = entries;
        if (entries.length === 1 && entry && typeof entry[1] === 'string') return { kind: 'eq', field: entry[0].toLowerCase(), value: entry[1], text };
      }
      throw malformed(`Invalid condition ${text}.`);
    }),
  };
}

/** `fields` holds the form's fields (lower-case names) plus `bucket` from the URL. */
export function checkPolicy(base64Policy: string, fields: FormFields, now: Date): CheckedPolicy {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(base64Policy, 'base64').toString('utf8'));
  } catch {
    throw new S3Refusal(400, 'InvalidArgument', 'Invalid Policy: Invalid JSON.');
  }
  const { expiration, conditions } = parseConditions(document);
  if (now.getTime() > expiration.getTime()) throw policyViolation('Policy expired.');
  const covered = new Set<string>();
  let sizeRange: CheckedPolicy['sizeRange'];
  for (const condition of conditions) {
    if (condition.kind === 'range') {
      sizeRange = { min: condition.min, max: condition.max };
      continue;
    }
    covered.add(condition.field);
    const value = fields.get(condition.field);
    const met = value !== undefined && (condition.kind === 'eq' ? value === condition.value : value.startsWith(condition.value));
    if (!met) throw policyViolation(`Policy Condition failed: ${condition.text}`);
  }
  const extra = [...fields.keys()].filter((name) => name !== 'bucket' && !EXEMPT.has(name) && !name.startsWith('x-ignore-') && !covered.has(name));
  if (extra.length > 0) throw policyViolation(`Extra input fields: ${extra.join(', ')}`);
  return sizeRange ? { sizeRange } : {};
}
