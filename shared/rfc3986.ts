/**
 * RFC 3986 percent-encoding — everything but the unreserved characters `A-Z a-z 0-9 - . _ ~` — as both of Alibaba
 * Cloud's request signatures canonicalise names, values and paths (OSS V4, ACS3).
 */

/** Strings of unreserved characters only, which the encoding leaves as they are: most keys, names and values. */
const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;

export function encodeRfc3986(value: string): string {
  if (UNRESERVED.test(value)) return value;
  // encodeURIComponent leaves `!'()*` as they are; RFC 3986 reserves them.
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A path, each segment encoded, `/` kept. */
export function encodeRfc3986Path(path: string): string {
  return UNRESERVED_PATH.test(path) ? path : path.split('/').map(encodeRfc3986).join('/');
}
