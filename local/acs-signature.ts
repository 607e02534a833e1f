/**
 * Alibaba Cloud OpenAPI request signatures, as the local STS and FC stand-ins check them: ACS3-HMAC-SHA256 (what
 * `@alicloud/openapi-core` clients send by default) and the older RPC HMAC-SHA1 "SignatureVersion 1.0" (a client
 * configured with `signatureAlgorithm: 'v2'`). Written by hand: the SDKs only sign, and a stand-in that verified with
 * the SDK's own signer would accept whatever the SDK got wrong. Checked against the published vectors in tests.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { EdgeRequest } from '../shared/http/edge.js';
import type { CredentialLookup, LocalAccount } from './credentials.js';

/** RFC 3986 percent-encoding, as both signature versions define it (`encodeURIComponent` leaves `!'()*` alone). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function decodeLoosely(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Query parameters plus, for form posts, the body's: the parameter set both RPC signing and STS actions read. */
export function requestParams(
  request: Pick<EdgeRequest, 'query' | 'headers' | 'body'>,
): Array<[string, string]> {
  const params = [...new URLSearchParams(request.query)];
  const contentType = request.headers['content-type'] ?? '';
  if (contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    params.push(...new URLSearchParams(Buffer.from(request.body).toString('utf8')));
  }
  return params;
}

const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** The ACS3 canonical request: method, URI, sorted query, the signed headers, their names, the body's SHA-256. */
export function acs3CanonicalRequest(
  request: Pick<EdgeRequest, 'method' | 'path' | 'query' | 'headers' | 'body'>,
  signedHeaders: readonly string[],
): string {
  const uri = request.path
    .split('/')
    .map((segment) => percentEncode(decodeLoosely(segment)))
    .join('/');
  const query = [...new URLSearchParams(request.query)]
    .map(([name, value]) => [percentEncode(name), percentEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const headers = signedHeaders.map((name) => `${name}:${(request.headers[name] ?? '').trim()}\n`).join('');
  return [
    request.method.toUpperCase(),
    uri || '/',
    query,
    headers,
    signedHeaders.join(';'),
    sha256Hex(request.body),
  ].join('\n');
}

/** Hex HMAC-SHA256 over `ACS3-HMAC-SHA256\n<hex SHA-256 of the canonical request>`, keyed with the raw secret. */
export function acs3Signature(secret: string, canonicalRequest: string): string {
  return createHmac('sha256', secret)
    .update(`ACS3-HMAC-SHA256\n${sha256Hex(canonicalRequest)}`)
    .digest('hex');
}

export interface Acs3Authorization {
  algorithm: string;
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=a;b,Signature=<hex>`, or undefined if it is not that shape. */
export function parseAcs3Authorization(header: string): Acs3Authorization | undefined {
  const match = /^(ACS3-[A-Z0-9-]+)\s+(.*)$/.exec(header.trim());
  if (!match) return undefined;
  const fields = new Map<string, string>();
  for (const part of (match[2] ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) return undefined;
  return {
    algorithm: match[1] ?? '',
    accessKeyId,
    signedHeaders: signedHeaders.split(';').map((h) => h.trim().toLowerCase()),
    signature,
  };
}

/** RPC V1.0 string to sign: `METHOD&%2F&<encoded sorted "k=v&…">` over every parameter except `Signature`. */
export function rpcStringToSign(method: string, params: ReadonlyArray<readonly [string, string]>): string {
  const canonical = params
    .filter(([name]) => name !== 'Signature')
    .map(([name, value]) => [percentEncode(name), percentEncode(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonical)}`;
}

/** Base64 HMAC-SHA1 keyed with `<secret>&`. */
export function rpcSignature(secret: string, stringToSign: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
}

export type SignatureStyle = 'ACS3-HMAC-SHA256' | 'HMAC-SHA1';

export type AuthFailureKind =
  | 'IncompleteSignature'
  | 'UnsupportedSignatureMethod'
  | 'InvalidTimeStamp'
  | 'InvalidAccessKeyId'
  | 'SignatureDoesNotMatch'
  | 'SignatureNonceUsed'
  | 'MissingSecurityToken'
  | 'SecurityTokenMismatch'
  | 'SecurityTokenExpired';

export type CallerCheck =
  | {
      ok: true;
      style: SignatureStyle;
      accessKeyId: string;
      caller: CredentialLookup;
      /** The security token the request carried (header `x-acs-security-token` or parameter `SecurityToken`). */
      securityToken?: string;
    }
  | { ok: false; kind: AuthFailureKind; message: string; accessKeyId?: string; stringToSign?: string };

/** Requests older or newer than this are refused, as by Alibaba Cloud's gateways. */
const MAX_SKEW_MS = 15 * 60 * 1000;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks who signed a request against the local account: signature, clock skew, nonce reuse, and — for temporary
 * credentials — the security token and its expiry. Remembers nonces for the skew window.
 */
export class AcsRequestVerifier {
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly account: LocalAccount,
    private readonly options: { allowRpc: boolean },
  ) {}

  verify(request: EdgeRequest, now = Date.now()): CallerCheck {
    const authorization = request.headers.authorization;
    if (authorization) return this.verifyAcs3(request, authorization, now);
    const params = requestParams(request);
    if (this.options.allowRpc && params.some(([name]) => name === 'Signature')) {
      return this.verifyRpc(request, params, now);
    }
    return { ok: false, kind: 'IncompleteSignature', message: 'the request carries no signature' };
  }

  private verifyAcs3(request: EdgeRequest, authorization: string, now: number): CallerCheck {
    const parsed = parseAcs3Authorization(authorization);
    if (!parsed) {
      return { ok: false, kind: 'IncompleteSignature', message: 'the Authorization header is malformed' };
    }
    if (parsed.algorithm !== 'ACS3-HMAC-SHA256') {
      return {
        ok: false,
        kind: 'UnsupportedSignatureMethod',
        message: `signature algorithm ${parsed.algorithm} is not supported by the local cloud`,
      };
    }
    const present = Object.keys(request.headers).filter((name) => name.startsWith('x-acs-'));
    const unsigned = ['host', ...present].filter((name) => !parsed.signedHeaders.includes(name));
    if (unsigned.length > 0) {
      return {
        ok: false,
        kind: 'IncompleteSignature',
        message: `headers not signed: ${unsigned.join(', ')}`,
      };
    }
    const date = request.headers['x-acs-date'];
    const nonce = request.headers['x-acs-signature-nonce'];
    if (!date || !nonce) {
      return {
        ok: false,
        kind: 'IncompleteSignature',
        message: 'x-acs-date and x-acs-signature-nonce are required',
      };
    }
    const canonical = acs3CanonicalRequest(request, parsed.signedHeaders);
    return this.finish({
      style: 'ACS3-HMAC-SHA256',
      accessKeyId: parsed.accessKeyId,
      timestamp: date,
      nonce,
      securityToken: request.headers['x-acs-security-token'],
      stringToSign: canonical,
      matches: (secret) => sameText(acs3Signature(secret, canonical), parsed.signature),
      now,
    });
  }

  private verifyRpc(request: EdgeRequest, params: Array<[string, string]>, now: number): CallerCheck {
    const value = (name: string) => params.find(([n]) => n === name)?.[1];
    const method = value('SignatureMethod');
    if (method !== 'HMAC-SHA1' || value('SignatureVersion') !== '1.0') {
      return {
        ok: false,
        kind: 'UnsupportedSignatureMethod',
        message: `SignatureMethod ${method ?? '(none)'} / SignatureVersion ${value('SignatureVersion') ?? '(none)'} is not supported`,
      };
    }
    const accessKeyId = value('AccessKeyId');
    const timestamp = value('Timestamp');
    const nonce = value('SignatureNonce');
    const signature = value('Signature') ?? '';
    if (!accessKeyId || !timestamp || !nonce) {
      return {
        ok: false,
        kind: 'IncompleteSignature',
        message: 'AccessKeyId, Timestamp and SignatureNonce are required',
      };
    }
    const stringToSign = rpcStringToSign(request.method, params);
    return this.finish({
      style: 'HMAC-SHA1',
      accessKeyId,
      timestamp,
      nonce,
      securityToken: value('SecurityToken'),
      stringToSign,
      matches: (secret) => sameText(rpcSignature(secret, stringToSign), signature),
      now,
    });
  }

  private finish(input: {
    style: SignatureStyle;
    accessKeyId: string;
    timestamp: string;
    nonce: string;
    securityToken: string | undefined;
    stringToSign: string;
    matches: (secret: string) => boolean;
    now: number;
  }): CallerCheck {
    const { accessKeyId, securityToken, now } = input;
    const signedAt = Date.parse(input.timestamp);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(input.timestamp) || Number.isNaN(signedAt)) {
      return {
        ok: false,
        kind: 'InvalidTimeStamp',
        message: `timestamp ${input.timestamp} is not well formatted`,
      };
    }
    if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
      return { ok: false, kind: 'InvalidTimeStamp', message: `timestamp ${input.timestamp} is expired` };
    }
    const caller = this.account.lookup(accessKeyId);
    if (!caller)
      return { ok: false, kind: 'InvalidAccessKeyId', message: 'access key not found', accessKeyId };
    const secret = caller.kind === 'root' ? caller.key.accessKeySecret : caller.credential.accessKeySecret;
    if (!input.matches(secret)) {
      return {
        ok: false,
        kind: 'SignatureDoesNotMatch',
        message: 'signature mismatch',
        accessKeyId,
        stringToSign: input.stringToSign,
      };
    }
    this.forgetOldNonces(now);
    const nonceKey = `${accessKeyId}\n${input.nonce}`;
    if (this.nonces.has(nonceKey)) {
      return {
        ok: false,
        kind: 'SignatureNonceUsed',
        message: 'signature nonce was used already',
        accessKeyId,
      };
    }
    this.nonces.set(nonceKey, now + MAX_SKEW_MS);
    if (caller.kind === 'temporary') {
      if (!securityToken) {
        return { ok: false, kind: 'MissingSecurityToken', message: 'no security token', accessKeyId };
      }
      if (!sameText(securityToken, caller.credential.securityToken)) {
        return { ok: false, kind: 'SecurityTokenMismatch', message: 'token mismatch', accessKeyId };
      }
      if (Date.parse(caller.credential.expiration) <= now) {
        return { ok: false, kind: 'SecurityTokenExpired', message: 'token expired', accessKeyId };
      }
    } else if (securityToken) {
      // A long-term key never comes with a token; a token beside it belongs to some other credential.
      return {
        ok: false,
        kind: 'SecurityTokenMismatch',
        message: 'token sent with a long-term key',
        accessKeyId,
      };
    }
    return {
      ok: true,
      style: input.style,
      accessKeyId,
      caller,
      ...(securityToken ? { securityToken } : {}),
    };
  }

  /**
   * Each nonce is kept for the same window from when it came, and a Map iterates in insertion order: the expired ones
   * are the oldest, so the scan stops at the first one still kept (a scan of every nonce per request made the local
   * cloud slower the longer a load test ran).
   */
  private forgetOldNonces(now: number): void {
    for (const [key, until] of this.nonces) {
      if (until >= now) return;
      this.nonces.delete(key);
    }
  }
}

/** Status and message of each authentication failure, as Alibaba Cloud's API gateway answers them for
 * the RPC-style APIs it fronts (STS, KMS). */
export const GATEWAY_AUTH_ERRORS: Record<AuthFailureKind, { status: number; code: string; message: string }> =
  {
    IncompleteSignature: {
      status: 400,
      code: 'IncompleteSignature',
      message: 'The request signature does not conform to Aliyun standards.',
    },
    UnsupportedSignatureMethod: {
      status: 400,
      code: 'InvalidSignatureMethod',
      message: 'Specified signature method is not valid.',
    },
    InvalidTimeStamp: {
      status: 400,
      code: 'InvalidTimeStamp.Expired',
      message: 'Specified time stamp or date value is expired.',
    },
    InvalidAccessKeyId: {
      status: 404,
      code: 'InvalidAccessKeyId.NotFound',
      message: 'Specified access key is not found.',
    },
    SignatureDoesNotMatch: {
      status: 400,
      code: 'SignatureDoesNotMatch',
      message: 'Specified signature is not matched with our calculation.',
    },
    SignatureNonceUsed: {
      status: 400,
      code: 'SignatureNonceUsed',
      message: 'Specified signature nonce was used already.',
    },
    MissingSecurityToken: {
      status: 400,
      code: 'MissingSecurityToken',
      message: 'SecurityToken is mandatory for this action.',
    },
    SecurityTokenMismatch: {
      status: 400,
      code: 'InvalidSecurityToken.MismatchWithAccessKey',
      message: 'Specified SecurityToken mismatch with the AccessKey.',
    },
    SecurityTokenExpired: {
      status: 400,
      code: 'InvalidSecurityToken.Expired',
      message: 'Specified SecurityToken is expired.',
    },
  };
