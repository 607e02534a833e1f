/**
 * RAM policy documents as STS accepts them and OSS enforces them, for the local cloud: parsing with STS's grammar
 * errors, and evaluation (explicit Deny wins, otherwise an Allow must match; `*` and `?` wildcards in Action and
 * Resource; actions are case-insensitive). `Condition` blocks are refused: the stand-in does not evaluate them.
 */
export interface PolicyStatement {
  effect: 'Allow' | 'Deny';
  actions: string[];
  resources: string[];
}

export interface RamPolicy {
  statements: PolicyStatement[];
}

export type ParsedPolicy = { ok: true; policy: RamPolicy } | { ok: false; message: string };

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** Parse a policy document; `message` explains a grammar error (STS answers InvalidParameter.PolicyGrammar). */
export function parseRamPolicy(text: string): ParsedPolicy {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ok: false, message: 'policy is not JSON' };
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { ok: false, message: 'policy must be a JSON object' };
  }
  const { Version, Statement } = document as Record<string, unknown>;
  if (Version !== '1') return { ok: false, message: 'policy Version must be "1"' };
  if (Statement === undefined) return { ok: false, message: 'policy has no Statement' };
  const statements: PolicyStatement[] = [];
  for (const raw of asList(Statement)) {
    if (typeof raw !== 'object' || raw === null)
      return { ok: false, message: 'a Statement must be an object' };
    const { Effect, Action, Resource, Condition, ...rest } = raw as Record<string, unknown>;
    if (Effect !== 'Allow' && Effect !== 'Deny')
      return { ok: false, message: 'Effect must be Allow or Deny' };
    if (Condition !== undefined)
      return { ok: false, message: 'Condition is not supported by the local cloud' };
    if (Object.keys(rest).length > 0)
      return { ok: false, message: `unknown statement key ${Object.keys(rest)[0]}` };
    const actions = asList(Action);
    const resources = asList(Resource);
    if (
      Action === undefined ||
      actions.length === 0 ||
      !actions.every((a) => typeof a === 'string' && a !== '')
    ) {
      return { ok: false, message: 'Action must be a non-empty string or list of strings' };
    }
    if (
      Resource === undefined ||
      resources.length === 0 ||
      !resources.every((r) => typeof r === 'string' && r !== '')
    ) {
      return { ok: false, message: 'Resource must be a non-empty string or list of strings' };
    }
    statements.push({ effect: Effect, actions: actions as string[], resources: resources as string[] });
  }
  return { ok: true, policy: { statements } };
}

function wildcardToRegExp(pattern: string, flags: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}

/** Whether `policy` allows `action` (e.g. `oss:PutObject`) on `resource` (e.g. `acs:oss:*:*:bucket/key`). */
export function policyAllows(policy: RamPolicy, action: string, resource: string): boolean {
  let allowed = false;
  for (const statement of policy.statements) {
    const actionMatches = statement.actions.some((a) => wildcardToRegExp(a, 'i').test(action));
    const resourceMatches = statement.resources.some((r) => wildcardToRegExp(r, '').test(resource));
    if (!actionMatches || !resourceMatches) continue;
    if (statement.effect === 'Deny') return false;
    allowed = true;
  }
  return allowed;
}
