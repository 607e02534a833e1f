/**
 * OSS V4 signing (OSS4-HMAC-SHA256), the one copy in production code: the Authorization header of a REST call,
 * presigned URLs (the same canonical request, carried in the query), the PostObject policy signature, and how a
 * bucket is addressed on an endpoint.
 *
 * Written by hand rather than taken from ali-oss: ali-oss brings its whole HTTP stack into each function's bundle,
 * needs a client instance per signature, and addresses a bucket on a loopback endpoint by Host header, which a URL
 * handed to a browser cannot carry. The algorithm is small and fixed by the docs; it is checked against the published
 * SDK vectors (test/fixtures/signing-vectors.json) and against the local OSS, which verifies V4 with its own code.
 *
 * The canonical request is built by shared/oss-v4-canonical.ts (the client library's signer uses it too); key = HMAC
 * chain "aliyun_v4"+secret → day → region → "oss" → "aliyun_v4_request".
 */
import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import type { RoleCredentials } from './http/edge.js';
import {
  byCode,
  type OssV4CanonicalInput,
  ossV4CanonicalRequest,
  UNSIGNED_PAYLOAD,
} from './oss-v4-canonical.js';
import { encodeRfc3986, encodeRfc3986Path } from './rfc3986.js';
import { sha256Hex } from './sha256.js';

const OSS_V4_ALGORITHM = 'OSS4-HMAC-SHA256';
/** Longest validity OSS accepts for a V4 presigned URL. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** A request to sign. */
export interface OssV4Request extends OssV4CanonicalInput {
  /** Headers to sign beyond the default ones (content-type, content-md5, x-oss-*). */
  additionalHeaders?: readonly string[];
}

/** The query as it goes on the wire (encoded, in the given order; a bare name for an empty value). */
export function encodeQuery(query: OssV4Request['query']): string {
  return query
    .map(([name, value]) =>
      value === '' ? encodeRfc3986(name) : `${encodeRfc3986(name)}=${encodeRfc3986(value)}`,
    )
    .join('&');
}

/** `20231216T162057Z` */
function isoBasic(date: Date): string {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.678Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** The derived key changes once a day per secret and region: keep the last one (every grant signs with the same). */
let cachedSigningKey: { id: string; key: Buffer } | undefined;

function signingKey(secret: string, day: string, region: string): Buffer {
  const id = `${secret}\n${day}\n${region}`;
  if (cachedSigningKey?.id !== id) {
    const key = hmac(hmac(hmac(hmac(`aliyun_v4${secret}`, day), region), 'oss'), 'aliyun_v4_request');
    cachedSigningKey = { id, key };
  }
  return cachedSigningKey.key;
}

/** hex(HMAC-SHA256(signing key of `secret`, `day`, `region`; `stringToSign`)). */
function signature(secret: string, day: string, region: string, stringToSign: string): string {
  return createHmac('sha256', signingKey(secret, day, region))
    .update(stringToSign, 'utf8')
    .digest('hex');
}

/** `<AccessKeyId>/<yyyymmdd>/<region>/oss/aliyun_v4_request` */
function ossV4Credential(accessKeyId: string, day: string, region: string): string {
  return `${accessKeyId}/${day}/${region}/oss/aliyun_v4_request`;
}

const NO_NAMES: readonly string[] = [];

/** The lower-case additional header names, unique and sorted, as they appear in the signature. */
function additionalNames(request: OssV4Request): readonly string[] {
  if (!request.additionalHeaders?.length) return NO_NAMES;
  return [...new Set(request.additionalHeaders.map((name) => name.toLowerCase()))].sort(byCode);
}

/** The string to sign of `request` at `datetime`, its query including whatever the presigned form adds. */
function stringToSign(
  request: OssV4Request,
  additional: readonly string[],
  datetime: string,
  region: string,
) {
  const canonicalRequest = ossV4CanonicalRequest(request, additional);
  return `${OSS_V4_ALGORITHM}\n${datetime}\n${datetime.slice(0, 8)}/${region}/oss/aliyun_v4_request\n${sha256Hex(canonicalRequest)}`;
}

/**
 * Sign `request` for `region` (e.g. `cn-hangzhou`) at `now` in the Authorization header: returns its headers plus
 * `x-oss-date`, `x-oss-content-sha256`, `x-oss-security-token` (with STS credentials) and `authorization`.
 */
export function signOssV4(
  request: OssV4Request,
  credentials: RoleCredentials,
  region: string,
  now: Date,
): Record<string, string> {
  const datetime = isoBasic(now);
  const day = datetime.slice(0, 8);
  const headers: Record<string, string> = {
    ...request.headers,
    'x-oss-date': datetime,
    'x-oss-content-sha256': UNSIGNED_PAYLOAD,
    ...(credentials.securityToken ? { 'x-oss-security-token': credentials.securityToken } : {}),
  };
  const additional = additionalNames(request);
  const toSign = stringToSign({ ...request, headers }, additional, datetime, region);
  const additionalField = additional.length > 0 ? `,AdditionalHeaders=${additional.join(';')}` : '';
  headers.authorization = `${OSS_V4_ALGORITHM} Credential=${ossV4Credential(credentials.accessKeyId, day, region)}${additionalField},Signature=${signature(credentials.accessKeySecret, day, region, toSign)}`;
  return headers;
}

/**
 * Presign `request` for `expiresSeconds` from `now`: its query followed by the signature's parameters, to put on the
 * URL (`encodeQuery`). The caller must send exactly `request.headers` — content-type and every x-oss-* header among
 * them are inside the signature, and so is any x-oss-* header added later, which then breaks it.
 */
export function presignOssV4(
  request: OssV4Request,
  credentials: RoleCredentials,
  region: string,
  now: Date,
  expiresSeconds: number,
): Array<[string, string]> {
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`a presigned URL lives 1…${MAX_PRESIGN_SECONDS} s, not ${expiresSeconds}`);
  }
  const datetime = isoBasic(now);
  const day = datetime.slice(0, 8);
  const additional = additionalNames(request);
  const query: Array<[string, string]> = [
    ...request.query.map(([name, value]): [string, string] => [name, value]),
    ['x-oss-signature-version', OSS_V4_ALGORITHM],
    ['x-oss-credential', ossV4Credential(credentials.accessKeyId, day, region)],
    ['x-oss-date', datetime],
    ['x-oss-expires', String(expiresSeconds)],
    ...(additional.length > 0
      ? [['x-oss-additional-headers', additional.join(';')] as [string, string]]
      : []),
    ...(credentials.securityToken
      ? [['x-oss-security-token', credentials.securityToken] as [string, string]]
      : []),
  ];
  const toSign = stringToSign({ ...request, query }, additional, datetime, region);
  query.push(['x-oss-signature', signature(credentials.accessKeySecret, day, region, toSign)]);
  return query;
}

/** The PostObject form's fields that name the V4 signature (each must also be a condition of the policy). */
export function postPolicyFields(
  credentials: RoleCredentials,
  region: string,
  now: Date,
): Record<string, string> {
  const datetime = isoBasic(now);
  return {
    'x-oss-signature-version': OSS_V4_ALGORITHM,
    'x-oss-credential': ossV4Credential(credentials.accessKeyId, datetime.slice(0, 8), region),
    'x-oss-date': datetime,
    ...(credentials.securityToken ? { 'x-oss-security-token': credentials.securityToken } : {}),
  };
}

/** The PostObject V4 `x-oss-signature` at `now` (the form's `x-oss-date`): the string to sign is the base64 policy. */
export function signPostPolicyV4(
  credentials: RoleCredentials,
  region: string,
  now: Date,
  policyBase64: string,
): string {
  return signature(credentials.accessKeySecret, isoBasic(now).slice(0, 8), region, policyBase64);
}

/** Where a bucket's requests go on an endpoint. */
export interface BucketAddress {
  /** The endpoint's origin (scheme, host, port). */
  origin: URL;
  /** Host header and connection host name: `<bucket>.<endpoint host>`, or the endpoint's own when path-style. */
  host: string;
  hostname: string;
  /** The path of an object: `/<key>`, or `/<bucket>/<key>` when path-style; encoded. */
  path(key: string): string;
  /** The bucket's URL (no trailing `/`). */
  url: string;
}

/**
 * How a bucket is addressed on `endpoint`, decided here once for every request and URL the product makes:
 * virtual-hosted (`https://<bucket>.oss-…`) on a named host, path-style (`/<bucket>/<key>`) on an IP literal or
 * `localhost` (the local cloud), where no subdomain resolves. V4 signs `/<bucket>/<key>` in both styles.
 */
export function bucketAddress(endpoint: string, bucket: string): BucketAddress {
  const origin = new URL(endpoint);
  const bare = origin.hostname.replace(/^\[|\]$/g, '');
  const pathStyle = isIP(bare) !== 0 || bare === 'localhost';
  const host = pathStyle ? origin.host : `${bucket}.${origin.host}`;
  const url = `${origin.protocol}//${host}${pathStyle ? `/${bucket}` : ''}`;
  return {
    origin,
    host,
    hostname: pathStyle ? origin.hostname : `${bucket}.${origin.hostname}`,
    path: (key) => encodeRfc3986Path(pathStyle ? `/${bucket}/${key}` : `/${key}`),
    url,
  };
}
