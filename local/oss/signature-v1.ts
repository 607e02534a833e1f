/**
 * OSS V1 signatures (HMAC-SHA1), as the server recomputes them: the Authorization header, presigned URLs
 * (`OSSAccessKeyId`/`Expires`/`Signature`) and the PostObject policy signature.
 * string_to_sign = VERB \n Content-MD5 \n Content-Type \n Date|Expires \n CanonicalizedOSSHeaders CanonicalizedResource
 */
import { createHmac } from 'node:crypto';
import type { QueryPairs } from './query.js';

/**
 * Query parameters that are part of the CanonicalizedResource (besides every `x-oss-*` one): OSS's documented
 * sub-resources plus those the official SDKs sign (the Go SDK v2 list).
 */
export const V1_SIGNED_SUBRESOURCES = new Set([
  'acl',
  'append',
  'bucketInfo',
  'callback',
  'callback-var',
  'cloudboxes',
  'continuation-token',
  'cors',
  'delete',
  'lifecycle',
  'location',
  'logging',
  'objectMeta',
  'partNumber',
  'position',
  'referer',
  'regionList',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'security-token',
  'sequential',
  'stat',
  'symlink',
  'tagging',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
]);

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `/bucket/key?sub&sub=value` with the raw (decoded) key; `/bucket/` for bucket requests, `/` for the service. */
export function canonicalizedResource(bucket: string | undefined, key: string, query: QueryPairs): string {
  const path = bucket === undefined ? '/' : `/${bucket}/${key}`;
  const seen = new Map<string, string>();
  for (const [name, value] of query) {
    if ((V1_SIGNED_SUBRESOURCES.has(name) || name.startsWith('x-oss-')) && !seen.has(name))
      seen.set(name, value);
  }
  if (seen.size === 0) return path;
  const parts = [...seen.keys()].sort(byName).map((name) => {
    const value = seen.get(name) as string;
    return value === '' ? name : `${name}=${value}`;
  });
  return `${path}?${parts.join('&')}`;
}

/** Every `x-oss-*` header, lower-cased, trimmed, sorted, each followed by `\n`. */
export function canonicalizedOssHeaders(headers: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), (value ?? '').trim()] as const)
    .filter(([name]) => name.startsWith('x-oss-'))
    .sort(([a], [b]) => byName(a, b))
    .map(([name, value]) => `${name}:${value}\n`)
    .join('');
}

export interface V1SignInput {
  method: string;
  contentMd5: string;
  contentType: string;
  /** The Date header (or x-oss-date when there is none); for presigned URLs the `Expires` value. */
  date: string;
  headers: Readonly<Record<string, string | undefined>>;
  resource: string;
}

export function v1StringToSign(input: V1SignInput): string {
  return [
    input.method.toUpperCase(),
    input.contentMd5,
    input.contentType,
    `${input.date}\n${canonicalizedOssHeaders(input.headers)}${input.resource}`,
  ].join('\n');
}

export function hmacSha1Base64(secret: string, data: string): string {
  return createHmac('sha1', secret).update(data, 'utf8').digest('base64');
}

/** PostObject V1: `Signature = base64(HMAC-SHA1(secret, policy))` over the base64 policy exactly as sent. */
export function v1PostSignature(secret: string, policyBase64: string): string {
  return hmacSha1Base64(secret, policyBase64);
}
