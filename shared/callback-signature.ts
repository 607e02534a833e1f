/**
 * Verification of OSS upload-callback signatures (RSA-MD5 over path, query and body).
 *
 * string_to_sign = percent-decoded path + ('?' + raw query, only when there is one) + '\n' + raw body bytes.
 * The public key is named by `x-oss-pub-key-url` (base64). Only OSS's own key host is trusted, and OSS's current key
 * is pinned, so the default path makes no network call; any other URL is refused before anything is fetched.
 * WebCrypto has no MD5, hence node:crypto.
 */
import { constants, createPublicKey, type KeyObject, verify } from 'node:crypto';

/** OSS's callback key `callback_pub_key_v1.pem`, pinned (it does not change). */
export const OSS_CALLBACK_PUBLIC_KEY_V1 = `-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----
`;

/** Exact prefixes of trusted key URLs. A bare host prefix would also accept `gosspublic.alicdn.com.evil.example`. */
export const OSS_KEY_URL_PREFIXES = [
  'http://gosspublic.alicdn.com/',
  'https://gosspublic.alicdn.com/',
] as const;

const OSS_KEY_HOST = 'gosspublic.alicdn.com';
const PINNED_KEY_FILE = 'callback_pub_key_v1.pem';
// Key file names OSS publishes look like `callback_pub_key_v1.pem`; anything else under the host is not a key.
const KEY_FILE_PATTERN = /^[A-Za-z0-9_.-]{1,128}\.pem$/;

export interface CallbackRequest {
  /** Request path as received, still percent-encoded, no query. */
  path: string;
  /** Raw query without '?', '' when there is none. */
  query: string;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** Raw body bytes. */
  body: Uint8Array;
}

export interface TrustedCallbackKey {
  /** Key URLs starting with this prefix use `publicKeyPem`. Must be an origin plus a path ending in '/'. */
  urlPrefix: string;
  publicKeyPem: string;
}

export interface VerifyOptions {
  /** Extra pinned keys, e.g. the local cloud's. Never fetched; they do not widen what is fetched. */
  trustedKeys?: TrustedCallbackKey[];
  /** Timeout for fetching a non-pinned key from OSS's key host. Default 2000 ms. */
  fetchTimeoutMs?: number;
}

export type CallbackSignatureFailure =
  | 'MissingSignature'
  | 'MalformedSignature'
  | 'UntrustedPublicKeyUrl'
  | 'PublicKeyUnavailable'
  | 'InvalidSignature';

export type CallbackVerification =
  | { ok: true; keyUrl: string }
  | { ok: false; code: CallbackSignatureFailure; message: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const pinnedKey = createPublicKey(OSS_CALLBACK_PUBLIC_KEY_V1);
/** Fetched OSS keys by URL (a promise, so concurrent requests share one fetch). Failures are not cached. */
const fetchedKeys = new Map<string, Promise<KeyObject>>();
/** Parsed trusted keys by PEM: parsing a PEM per request costs ~14× the verification itself. */
const parsedTrustedKeys = new Map<string, KeyObject>();

function fail(code: CallbackSignatureFailure, message: string): CallbackVerification {
  return { ok: false, code, message };
}

function decodeBase64Strict(value: string): Buffer | null {
  const trimmed = value.trim();
  if (trimmed === '' || !BASE64.test(trimmed)) return null;
  return Buffer.from(trimmed, 'base64');
}

/** Percent-decode to bytes (not to a JS string: a path need not be valid UTF-8). `+` stays `+`. */
export function percentDecodePath(path: string): Buffer | null {
  const raw = Buffer.from(path, 'utf8');
  // Most callback paths have no escapes: then the bytes are the path's own.
  if (!path.includes('%')) return raw;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i] as number;
    if (byte !== 0x25) {
      out.push(byte);
      continue;
    }
    const hex = raw.subarray(i + 1, i + 3).toString('latin1');
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
    out.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(out);
}

/** The exact bytes OSS signs for a callback request. */
export function callbackStringToSign(path: string, query: string, body: Uint8Array): Buffer | null {
  const decodedPath = percentDecodePath(path);
  if (!decodedPath) return null;
  const head = query === '' ? '' : `?${query}`;
  return Buffer.concat([decodedPath, Buffer.from(`${head}\n`, 'utf8'), body]);
}

type KeySource = { kind: 'pinned'; key: KeyObject } | { kind: 'fetch'; url: string } | { kind: 'untrusted' };

const TRUSTED_PREFIX_PATTERN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/([^?#]*\/)?$/;

/** The URL as a WHATWG parser writes it back, or null: any dot segment, escape or case it would change differs. */
function canonicalUrl(url: string): string | null {
  try {
    return new URL(url).href;
  } catch {
    return null;
  }
}

function findKeySource(keyUrl: string, options: VerifyOptions): KeySource {
  // Prefixes are compared as text, so only a URL already in canonical form may be compared at all: otherwise
  // `<trusted prefix>../../elsewhere` would match the prefix and name another path.
  if (canonicalUrl(keyUrl) !== keyUrl) return { kind: 'untrusted' };
  for (const trusted of options.trustedKeys ?? []) {
    // Ending in '/' after an explicit host is what keeps `http://127.0.0.1:9000` from matching `…:90001`.
    if (!TRUSTED_PREFIX_PATTERN.test(trusted.urlPrefix)) {
      throw new TypeError(`trusted key URL prefix must be scheme://host[:port]/…/: ${trusted.urlPrefix}`);
    }
    if (keyUrl.startsWith(trusted.urlPrefix)) {
      let key = parsedTrustedKeys.get(trusted.publicKeyPem);
      if (!key) {
        key = createPublicKey(trusted.publicKeyPem);
        parsedTrustedKeys.set(trusted.publicKeyPem, key);
      }
      return { kind: 'pinned', key };
    }
  }
  const prefix = OSS_KEY_URL_PREFIXES.find((candidate) => keyUrl.startsWith(candidate));
  if (!prefix) return { kind: 'untrusted' };
  const file = keyUrl.slice(prefix.length);
  if (!KEY_FILE_PATTERN.test(file)) return { kind: 'untrusted' };
  if (file === PINNED_KEY_FILE) return { kind: 'pinned', key: pinnedKey };
  // Fetch over HTTPS even when OSS named http: a key fetched in clear text could be swapped on the way.
  return { kind: 'fetch', url: `https://${OSS_KEY_HOST}/${file}` };
}

function fetchOssKey(url: string, timeoutMs: number): Promise<KeyObject> {
  let pending = fetchedKeys.get(url);
  if (!pending) {
    pending = (async () => {
      const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const pem = await response.text();
      if (pem.length > 4096) throw new Error('key document too large');
      return createPublicKey(pem);
    })();
    fetchedKeys.set(url, pending);
    pending.catch(() => fetchedKeys.delete(url));
  }
  return pending;
}

interface ResolvedKey {
  keyUrl: string;
  key: KeyObject;
  modulusBytes: number;
}

/**
 * Pinned keys by the exact `x-oss-pub-key-url` header that named them, per set of trusted keys: OSS sends the same
 * header on every callback, so decoding, canonicalising and matching it against the allowlist is done once rather
 * than per request. Only allowlisted (pinned) answers are kept, and at most `MAX_REMEMBERED_HEADERS` of them.
 */
const MAX_REMEMBERED_HEADERS = 64;
const noTrustedKeys: TrustedCallbackKey[] = [];
const pinnedHeaders = new WeakMap<TrustedCallbackKey[], Map<string, ResolvedKey>>();
function pinnedByHeader(options: VerifyOptions): Map<string, ResolvedKey> {
  const trusted = options.trustedKeys ?? noTrustedKeys;
  let byHeader = pinnedHeaders.get(trusted);
  if (!byHeader) {
    byHeader = new Map();
    pinnedHeaders.set(trusted, byHeader);
  }
  return byHeader;
}
function rememberPinned(options: VerifyOptions, header: string, resolved: ResolvedKey): void {
  const byHeader = pinnedByHeader(options);
  if (byHeader.size >= MAX_REMEMBERED_HEADERS) byHeader.clear();
  byHeader.set(header, resolved);
}

/**
 * Verify that a callback request was signed by OSS. Never fetches outside OSS's key host. Throws only for invalid
 * options (a trusted prefix that is not `scheme://host[:port]/…/`); every request problem is a returned failure.
 */
export async function verifyOssCallback(
  req: CallbackRequest,
  options: VerifyOptions = {},
): Promise<CallbackVerification> {
  const authorization = req.headers.authorization;
  const keyUrlHeader = req.headers['x-oss-pub-key-url'];
  if (!authorization) return fail('MissingSignature', 'the Authorization header is missing');
  if (!keyUrlHeader) return fail('MissingSignature', 'the x-oss-pub-key-url header is missing');

  const signature = decodeBase64Strict(authorization);
  if (!signature) return fail('MalformedSignature', 'the Authorization header is not base64');

  let resolved = pinnedByHeader(options).get(keyUrlHeader);
  if (!resolved) {
    const keyUrlBytes = decodeBase64Strict(keyUrlHeader);
    if (!keyUrlBytes) return fail('MalformedSignature', 'the x-oss-pub-key-url header is not base64');
    const keyUrl = keyUrlBytes.toString('utf8');
    const source = findKeySource(keyUrl, options);
    if (source.kind === 'untrusted') {
      return fail(
        'UntrustedPublicKeyUrl',
        `public key URL is not on the allowlist: ${JSON.stringify(keyUrl)}`,
      );
    }
    let key: KeyObject;
    if (source.kind === 'pinned') {
      key = source.key;
    } else {
      try {
        key = await fetchOssKey(source.url, options.fetchTimeoutMs ?? 2000);
      } catch (error) {
        return fail('PublicKeyUnavailable', `could not fetch ${source.url}: ${(error as Error).message}`);
      }
    }
    resolved = { keyUrl, key, modulusBytes: Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8) };
    if (source.kind === 'pinned') rememberPinned(options, keyUrlHeader, resolved);
  }
  const { keyUrl, key, modulusBytes } = resolved;
  if (signature.length !== modulusBytes) {
    return fail(
      'MalformedSignature',
      `signature is ${signature.length} bytes, the key needs ${modulusBytes}`,
    );
  }
  const data = callbackStringToSign(req.path, req.query, req.body);
  if (!data) return fail('MalformedSignature', 'the request path has an invalid percent-escape');
  const valid = verify('md5', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  return valid ? { ok: true, keyUrl } : fail('InvalidSignature', 'the signature does not match the request');
}
