/**
 * Render a callback body from its template the way OSS does (see local/README.md for what is known and assumed).
 * - form mode: every value percent-encoded (RFC 3986 unreserved characters kept), constants copied as they are;
 * - JSON mode: string values inserted WITH surrounding quotes (JSON-escaped), numeric ones bare, `/` not escaped.
 * An undefined variable renders as nothing (OSS's behaviour there is undocumented).
 */
export type CallbackBodyType = 'application/x-www-form-urlencoded' | 'application/json';

/** System variables whose values OSS inserts bare in JSON mode. */
const NUMERIC_VARIABLES = new Set(['size', 'imageInfo.width', 'imageInfo.height']);

export function percentEncodeStrict(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function renderCallbackBody(
  template: string,
  bodyType: CallbackBodyType,
  variables: Readonly<Record<string, string | undefined>>,
): string {
  return template.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
    const value = variables[name];
    if (bodyType === 'application/x-www-form-urlencoded') return percentEncodeStrict(value ?? '');
    if (NUMERIC_VARIABLES.has(name)) return value ?? '';
    return value === undefined ? '' : JSON.stringify(value);
  });
}
