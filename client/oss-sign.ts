/**
 * OSS V4 signatures (OSS4-HMAC-SHA256) for the few requests the library makes with a grant's STS credentials —
 * multipart calls (header auth) and reads of the outputs (presigned URLs) — with Web Crypto, so the same code runs in
 * browsers and Node. Written here rather than taken from ali-oss: its browser build (aliyun-oss-sdk.min.js) is
 * 664 KiB min, 170 KiB min+gzip, against ~8 KiB for this whole library (`npm run build` prints the figure), for what
 * is ~100 lines of documented algorithm.
 *
 * canonical request = shared/oss-v4-canonical.ts, the same code the functions' signer (shared/oss-v4.ts) uses
 * string to sign   = OSS4-HMAC-SHA256 \n datetime \n date/region/oss/aliyun_v4_request \n hex(sha256(canonical))
 * signing key      = HMAC chain of "aliyun_v4"+secret over date, region, "oss", "aliyun_v4_request"
 */

import { ossV4CanonicalRequest, UNSIGNED_PAYLOAD } from '../shared/oss-v4-canonical.js';
import { encodeRfc3986, encodeRfc3986Path } from '../shared/rfc3986.js';

export interface OssCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
}

export interface OssTarget {
  endpoint: string;
  bucket: string;
  /** Region id without `oss-`. */
  region: string;
}

const ALGORITHM = 'OSS4-HMAC-SHA256';
const encoder = new TextEncoder();

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

async function hmac(key: Uint8Array<ArrayBuffer> | ArrayBuffer, data: string): Promise<ArrayBuffer> {
  const imported = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return crypto.subtle.sign('HMAC', imported, encoder.encode(data));
}

/** `yyyymmddTHHMMSSZ`. */
export const v4DateTime = (at: Date): string =>
  at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** Bucket URL: path-style on an IP or localhost endpoint (the local cloud), virtual-hosted otherwise. */
export function objectUrl(target: OssTarget, key: string, query: Array<[string, string]> = []): string {
  const endpoint = new URL(target.endpoint);
  const pathStyle = /^[\d.]+$|^\[|^localhost$/.test(endpoint.hostname);
  const base = pathStyle
    ? `${endpoint.protocol}//${endpoint.host}/${target.bucket}/`
    : `${endpoint.protocol}//${target.bucket}.${endpoint.host}/`;
  const search = query.map(([name, value]) => (value === '' ? name : `${name}=${encodeRfc3986(value)}`));
  return `${base}${encodeRfc3986Path(key)}${search.length > 0 ? `?${search.join('&')}` : ''}`;
}

interface Canonical {
  method: string;
  target: OssTarget;
  key: string;
  query: Array<[string, string]>;
  /** Lower-case names; content-type, content-md5 and x-oss-* are signed. */
  headers: Record<string, string>;
}

async function signature(credentials: OssCredentials, input: Canonical, at: Date): Promise<string> {
  const datetime = v4DateTime(at);
  const date = datetime.slice(0, 8);
  const canonical = ossV4CanonicalRequest(
    {
      method: input.method,
      bucket: input.target.bucket,
      key: input.key,
      query: input.query,
      headers: input.headers,
    },
    [],
  );
  const scope = `${date}/${input.target.region}/oss/aliyun_v4_request`;
  const digest = hex(await crypto.subtle.digest('SHA-256', encoder.encode(canonical)));
  const stringToSign = `${ALGORITHM}\n${datetime}\n${scope}\n${digest}`;
  let key: ArrayBuffer = await hmac(encoder.encode(`aliyun_v4${credentials.accessKeySecret}`), date);
  for (const part of [input.target.region, 'oss', 'aliyun_v4_request']) key = await hmac(key, part);
  return hex(await hmac(key, stringToSign));
}

/** Headers (with Authorization) for a header-signed request. `headers` must use lower-case names. */
export async function signedHeaders(
  credentials: OssCredentials,
  request: Omit<Canonical, 'headers'> & { headers?: Record<string, string> },
  at = new Date(),
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {
    ...request.headers,
    'x-oss-date': v4DateTime(at),
    'x-oss-content-sha256': UNSIGNED_PAYLOAD,
    'x-oss-security-token': credentials.securityToken,
  };
  const signed = await signature(credentials, { ...request, headers }, at);
  const scope = `${v4DateTime(at).slice(0, 8)}/${request.target.region}/oss/aliyun_v4_request`;
  headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope},Signature=${signed}`;
  return headers;
}

/** A presigned GET URL valid for `seconds`; nothing but the host is needed to use it. */
export async function presignedGet(
  credentials: OssCredentials,
  target: OssTarget,
  key: string,
  seconds: number,
  at = new Date(),
): Promise<string> {
  const datetime = v4DateTime(at);
  const query: Array<[string, string]> = [
    ['x-oss-signature-version', ALGORITHM],
    [
      'x-oss-credential',
      `${credentials.accessKeyId}/${datetime.slice(0, 8)}/${target.region}/oss/aliyun_v4_request`,
    ],
    ['x-oss-date', datetime],
    ['x-oss-expires', String(Math.max(1, Math.floor(seconds)))],
    ['x-oss-security-token', credentials.securityToken],
  ];
  const signed = await signature(credentials, { method: 'GET', target, key, query, headers: {} }, at);
  return objectUrl(target, key, [...query, ['x-oss-signature', signed]]);
}
