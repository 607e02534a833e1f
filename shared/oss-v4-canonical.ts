/**
 * OSS V4's canonical request (OSS4-HMAC-SHA256): the string-building half of the signature, with no crypto, so the
 * functions' signer (shared/oss-v4.ts, node:crypto) and the client library's (client/oss-sign.ts, Web Crypto in
 * browsers) canonicalise with the same code.
 *
 * canonical request = VERB \n /bucket/key \n query \n signed headers \n additional header names \n UNSIGNED-PAYLOAD;
 * signed headers are content-type, content-md5 and every x-oss-* header the request carries, plus the additional
 * ones it names; names and values are RFC 3986-encoded, the query sorted by name then value.
 */
import { encodeRfc3986, encodeRfc3986Path } from './rfc3986.js';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** What the canonical request is made of. */
export interface OssV4CanonicalInput {
  method: string;
  bucket: string;
  /** Decoded object key ('' for a bucket-level request). */
  key: string;
  /** Decoded query parameters, e.g. `[['uploadId', 'abc'], ['partNumber', '1']]`; `''` for a bare name. */
  query: ReadonlyArray<readonly [string, string]>;
  /** Headers as they will be sent (case is ignored for signing). */
  headers: Readonly<Record<string, string>>;
}

/** Order by UTF-16 code unit, as the signature sorts names and values. */
export const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function isDefaultSigned(name: string): boolean {
  return name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-');
}

/** `name:value\n` for each signed header, by name; the REST call signs several per request, hence the plain loop. */
function canonicalHeaders(headers: OssV4CanonicalInput['headers'], additional: readonly string[]): string {
  const signed: Array<[string, string]> = [];
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (isDefaultSigned(lower) || additional.includes(lower))
      signed.push([lower, (headers[name] as string).trim()]);
  }
  signed.sort(([a], [b]) => byCode(a, b));
  let lines = '';
  for (const [name, value] of signed) lines += `${name}:${value}\n`;
  return lines;
}

/** The canonical query: encoded, sorted by name then value, a bare name for an empty value. */
function canonicalQuery(query: OssV4CanonicalInput['query']): string {
  if (query.length === 0) return '';
  return query
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a, av], [b, bv]) => byCode(a, b) || byCode(av, bv))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
    .join('&');
}

/** The canonical request of `request`, signing `additional` (lower-case, unique, sorted) beyond the default headers. */
export function ossV4CanonicalRequest(request: OssV4CanonicalInput, additional: readonly string[]): string {
  return `${request.method.toUpperCase()}\n${encodeRfc3986Path(`/${request.bucket}/${request.key}`)}\n${canonicalQuery(request.query)}\n${canonicalHeaders(request.headers, additional)}\n${additional.join(';')}\n${UNSIGNED_PAYLOAD}`;
}
