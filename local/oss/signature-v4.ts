/**
 * OSS V4 signatures (OSS4-HMAC-SHA256), as the server recomputes them: the Authorization header, presigned URLs
 * (`x-oss-signature-version`/`x-oss-credential`/…) and the PostObject policy signature.
 * canonical request = VERB \n URI \n query \n headers \n \n additional headers \n hashed payload.
 */
import { createHash, createHmac } from 'node:crypto';
import { percentEncodeStrict } from './callback-render.js';
import type { QueryPairs } from './query.js';

export const V4_ALGORITHM = 'OSS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `/bucket/key` strictly percent-encoded except `/`; `/` alone for the service. */
export function v4CanonicalUri(bucket: string | undefined, key: string): string {
  const path = bucket === undefined ? '/' : `/${bucket}/${key}`;
  return path
    .split('/')
    .map((segment) => percentEncodeStrict(segment))
    .join('/');
}

/** Names and values strictly percent-encoded, sorted by encoded name; an empty value leaves the name alone. */
export function v4CanonicalQuery(query: QueryPairs, omit: ReadonlySet<string> = new Set()): string {
  return query
    .filter(([name]) => !omit.has(name))
    .map(([name, value]) => [percentEncodeStrict(name), percentEncodeStrict(value)] as const)
    .sort(([a, av], [b, bv]) => byName(a, b) || byName(av, bv))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
    .join('&');
}

/** Signed by default: content-type, content-md5 and every x-oss-* header; plus the listed additional headers. */
function isDefaultSigned(name: string): boolean {
  return name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-');
}

export interface V4CanonicalInput {
  method: string;
  bucket: string | undefined;
  key: string;
  query: QueryPairs;
  /** Lower-case names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Lower-case, sorted (as they appear in the Authorization header). */
  additionalHeaders: readonly string[];
  /** Query parameters left out of the canonical query (the signature itself, for presigned URLs). */
  omitQuery?: ReadonlySet<string>;
}

export function v4CanonicalRequest(input: V4CanonicalInput): string {
  const additional = new Set(input.additionalHeaders);
  const headerLines = Object.entries(input.headers)
    .filter(([name, value]) => value !== undefined && (isDefaultSigned(name) || additional.has(name)))
    .sort(([a], [b]) => byName(a, b))
    .map(([name, value]) => `${name}:${(value ?? '').trim()}\n`)
    .join('');
  return [
    input.method.toUpperCase(),
    v4CanonicalUri(input.bucket, input.key),
    v4CanonicalQuery(input.query, input.omitQuery),
    headerLines,
    input.additionalHeaders.join(';'),
    input.headers['x-oss-content-sha256'] ?? UNSIGNED_PAYLOAD,
  ].join('\n');
}

export function v4Scope(date: string, region: string, product = 'oss'): string {
  return `${date}/${region}/${product}/aliyun_v4_request`;
}

export function v4StringToSign(datetime: string, scope: string, canonicalRequest: string): string {
  const hashed = createHash('sha256').update(canonicalRequest, 'utf8').digest('hex');
  return `${V4_ALGORITHM}\n${datetime}\n${scope}\n${hashed}`;
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

export function v4SigningKey(secret: string, date: string, region: string, product = 'oss'): Buffer {
  return hmac(hmac(hmac(hmac(`aliyun_v4${secret}`, date), region), product), 'aliyun_v4_request');
}

export function v4Signature(signingKey: Buffer, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

/** PostObject V4: hex(HMAC-SHA256(signing key, policy)) over the base64 policy exactly as sent. */
export function v4PostSignature(secret: string, date: string, region: string, policyBase64: string): string {
  return v4Signature(v4SigningKey(secret, date, region), policyBase64);
}

export interface V4Credential {
  accessKeyId: string;
  /** yyyymmdd */
  date: string;
  region: string;
  product: string;
}

/** `<AccessKeyId>/<yyyymmdd>/<region>/oss/aliyun_v4_request`, or undefined when malformed. */
export function parseV4Credential(value: string): V4Credential | undefined {
  const match = /^([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aliyun_v4_request$/.exec(value);
  if (!match) return undefined;
  const [, accessKeyId, date, region, product] = match as unknown as [string, string, string, string, string];
  return { accessKeyId, date, region, product };
}

export interface V4Authorization {
  credential: V4Credential;
  additionalHeaders: string[];
  signature: string;
}

/** Parse `OSS4-HMAC-SHA256 Credential=…,AdditionalHeaders=…,Signature=…`; a string says what is wrong. */
export function parseV4Authorization(header: string): V4Authorization | string {
  const rest = header.slice(V4_ALGORITHM.length).trim();
  const fields = new Map<string, string>();
  for (const part of rest.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) return `malformed Authorization field: ${part.trim()}`;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = parseV4Credential(fields.get('Credential') ?? '');
  if (!credential) return 'the Credential in the Authorization header is malformed';
  const signature = fields.get('Signature') ?? '';
  if (signature === '') return 'the Signature in the Authorization header is empty';
  const additional = fields.get('AdditionalHeaders');
  const additionalHeaders = additional === undefined ? [] : additional.split(';');
  if (additional !== undefined && additionalHeaders.some((name) => name === '')) {
    return 'the AdditionalHeaders in the Authorization header has an empty header name';
  }
  return { credential, additionalHeaders, signature };
}
