/**
 * The PostObject policy: `expiration` plus `conditions` — `{"field": "v"}`, `["eq", "$field", "v"]`,
 * `["starts-with", "$field", "prefix"]`, `["in" | "not-in", "$field", [...]]`, `["content-length-range", min, max]`.
 * Field names are case-insensitive; `bucket` is the bucket posted to. Fields the policy does not name are not checked.
 */
import { accessDenied, entityTooLarge, entityTooSmall, OssError } from './errors.js';

export type PolicyCondition =
  | { kind: 'eq' | 'starts-with'; field: string; value: string; source: unknown }
  | { kind: 'in' | 'not-in'; field: string; values: string[]; source: unknown }
  | { kind: 'content-length-range'; min: number; max: number; source: unknown };

export interface PostPolicy {
  /** Epoch ms. */
  expiration: number;
  conditions: PolicyCondition[];
}

const invalidPolicy = (message: string, ec?: string) =>
  new OssError(400, 'InvalidPolicyDocument', `Invalid Policy: ${message}`, ec);

function fieldName(value: unknown, source: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('$')) {
    throw invalidPolicy(`the condition ${JSON.stringify(source)} does not name a $field.`, '0006-00000218');
  }
  return value.slice(1).toLowerCase();
}

function parseCondition(source: unknown): PolicyCondition[] {
  if (Array.isArray(source)) {
    const [operator, first, second] = source as unknown[];
    if (typeof operator !== 'string')
      throw invalidPolicy('a condition has no matching mode.', '0006-00000216');
    const op = operator.toLowerCase();
    if (op === 'content-length-range') {
      if (source.length !== 3 || !Number.isInteger(first) || !Number.isInteger(second)) {
        throw invalidPolicy('content-length-range needs two integers.', '0006-00000221');
      }
      const [min, max] = [first as number, second as number];
      if (min < 0 || max < min) throw invalidPolicy('content-length-range has max < min.', '0006-00000219');
      return [{ kind: 'content-length-range', min, max, source }];
    }
    if (source.length !== 3)
      throw invalidPolicy(`the condition ${JSON.stringify(source)} is malformed.`, '0006-00000218');
    if (op === 'eq' || op === 'starts-with') {
      if (typeof second !== 'string') throw invalidPolicy(`${op} needs a string value.`, '0006-00000218');
      return [{ kind: op, field: fieldName(first, source), value: second, source }];
    }
    if (op === 'in' || op === 'not-in') {
      if (!Array.isArray(second) || !second.every((v) => typeof v === 'string')) {
        throw invalidPolicy(`${op} needs a list of strings.`, '0006-00000218');
      }
      return [{ kind: op, field: fieldName(first, source), values: second as string[], source }];
    }
    throw invalidPolicy(`unknown matching mode ${operator}.`, '0006-00000216');
  }
  if (typeof source === 'object' && source !== null) {
    return Object.entries(source).map(([field, value]) => {
      if (typeof value !== 'string')
        throw invalidPolicy(`the value of ${field} must be a string.`, '0006-00000218');
      return { kind: 'eq', field: field.toLowerCase(), value, source: { [field]: value } };
    });
  }
  throw invalidPolicy('a condition is neither a map nor a list.', '0006-00000222');
}

export function parsePostPolicy(base64: string): PostPolicy {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('the policy is not base64-encoded JSON.');
  }
  if (typeof document !== 'object' || document === null)
    throw invalidPolicy('the policy is not a JSON object.');
  const { expiration, conditions } = document as Record<string, unknown>;
  if (expiration === undefined && conditions === undefined) {
    throw invalidPolicy('the policy has no expiration and no conditions.', '0006-00000209');
  }
  if (conditions === undefined) throw invalidPolicy('the policy has no conditions.', '0006-00000207');
  if (!Array.isArray(conditions)) throw invalidPolicy('conditions must be a list.', '0006-00000214');
  const expires = typeof expiration === 'string' ? Date.parse(expiration) : Number.NaN;
  if (Number.isNaN(expires)) throw invalidPolicy('expiration is not an ISO 8601 time.');
  return { expiration: expires, conditions: conditions.flatMap(parseCondition) };
}

function holds(
  condition: Exclude<PolicyCondition, { kind: 'content-length-range' }>,
  value: string,
): boolean {
  switch (condition.kind) {
    case 'eq':
      return value === condition.value;
    case 'starts-with':
      return value.startsWith(condition.value);
    case 'in':
      return condition.values.includes(value);
    case 'not-in':
      return !condition.values.includes(value);
  }
}

const conditionFailed = (condition: PolicyCondition) =>
  accessDenied(`Invalid according to Policy: Policy Condition failed: ${JSON.stringify(condition.source)}`);

/** Check expiration and every field condition; `fields` has lower-case names and includes `bucket`. */
export function checkPolicyFields(
  policy: PostPolicy,
  fields: ReadonlyMap<string, string>,
  now: number,
): void {
  if (policy.expiration <= now) throw accessDenied('Invalid according to Policy: Policy expired.');
  for (const condition of policy.conditions) {
    if (condition.kind === 'content-length-range') continue;
    if (!holds(condition, fields.get(condition.field) ?? '')) throw conditionFailed(condition);
  }
}

/** Whether the policy pins `field` to one exact value (eq or a map entry). */
export function policyPins(policy: PostPolicy, field: string): boolean {
  return policy.conditions.some((c) => c.kind === 'eq' && c.field === field);
}

export function checkPolicyLength(policy: PostPolicy, size: number): void {
  for (const condition of policy.conditions) {
    if (condition.kind !== 'content-length-range') continue;
    if (size > condition.max) throw entityTooLarge('0006-00000003');
    if (size < condition.min) throw entityTooSmall('0006-00000004');
  }
}
