/**
 * Alibaba Cloud's ACS3-HMAC-SHA256 request signature, and one signed OpenAPI call over the shared keep-alive pool
 * (shared/http/outbound.ts): what the FC async-invoke client and the KMS secrets reader send. Written by hand — the
 * algorithm is small, checked against the published ACS3 vector and against the local cloud, which verifies ACS3
 * independently — rather than through `@alicloud/openapi-core`, whose request building, signing and HTTP stack
 * were ~18% of the callback's CPU per request and most of its bundle.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { RoleCredentials } from './http/edge.js';
import { type OutboundResponse, sendRequest } from './http/outbound.js';
import { encodeRfc3986, encodeRfc3986Path } from './rfc3986.js';
import { sha256Hex } from './sha256.js';

export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

/** A request to sign: `headers` are sent as given (lower-case names); `query` decoded. */
export interface Acs3Request {
  method: string;
  /** Decoded path, e.g. `/2023-03-30/functions/media/invocations`. */
  pathname: string;
  query: ReadonlyArray<readonly [string, string]>;
  headers: Record<string, string>;
  body: Buffer;
}

const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The sorted, encoded query (`a=1&b=2`), as both the canonical request and the URL carry it. */
function canonicalQuery(query: Acs3Request['query']): string {
  if (query.length === 0) return '';
  return query
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a, x], [b, y]) => byCode(a, b) || byCode(x, y))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/**
 * The ACS3 canonical request and the signed header names: every header given is signed (host, content-type and all
 * `x-acs-*` are required; signing the `x-fc-*` ones too keeps the task id and invocation type from being altered).
 */
export function acs3CanonicalRequest(request: Acs3Request): { canonical: string; signedHeaders: string } {
  return canonicalRequest(request, encodeRfc3986Path(request.pathname), canonicalQuery(request.query));
}

function canonicalRequest(
  request: Acs3Request,
  encodedPath: string,
  query: string,
): { canonical: string; signedHeaders: string } {
  // The default sort orders by UTF-16 code unit, as the signature requires, without a comparator call per pair.
  const names = Object.keys(request.headers).sort();
  const signedHeaders = names.join(';');
  let headerLines = '';
  for (const name of names) headerLines += `${name}:${(request.headers[name] as string).trim()}\n`;
  const payloadHash = request.headers['x-acs-content-sha256'] ?? sha256Hex(request.body);
  const canonical = `${request.method}\n${encodedPath || '/'}\n${query}\n${headerLines}\n${signedHeaders}\n${payloadHash}`;
  return { canonical, signedHeaders };
}

/** The `Authorization` header for `request` (whose headers already carry `x-acs-*`, host and content-type). */
export function acs3Authorization(request: Acs3Request, credentials: RoleCredentials): string {
  return authorization(acs3CanonicalRequest(request), credentials);
}

function authorization(
  { canonical, signedHeaders }: { canonical: string; signedHeaders: string },
  credentials: RoleCredentials,
): string {
  const signature = createHmac('sha256', credentials.accessKeySecret)
    .update(`${ACS3_ALGORITHM}\n${sha256Hex(canonical)}`)
    .digest('hex');
  return `${ACS3_ALGORITHM} Credential=${credentials.accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`;
}

/** `2023-10-26T10:22:32Z`: ISO 8601 in UTC without milliseconds, as `x-acs-date` requires. */
const acsDate = (now: Date) => `${now.toISOString().slice(0, 19)}Z`;

/**
 * Send one OpenAPI call signed with ACS3: the action and version in `x-acs-*` headers, the caller's security token
 * when it has one, and `headers` (signed too). Throws `TransportError` when no answer came; any answer is returned.
 */
export function sendAcs3Request(input: {
  endpoint: string;
  credentials: RoleCredentials;
  action: string;
  version: string;
  pathname: string;
  query: ReadonlyArray<readonly [string, string]>;
  contentType: string;
  body: Buffer;
  headers?: Record<string, string>;
  timeoutMs: number;
}): Promise<OutboundResponse> {
  const origin = originOf(input.endpoint);
  const { credentials, body } = input;
  const headers: Record<string, string> = {
    host: origin.host,
    'content-type': input.contentType,
    'x-acs-action': input.action,
    'x-acs-version': input.version,
    'x-acs-date': acsDate(new Date()),
    'x-acs-signature-nonce': randomUUID(),
    'x-acs-content-sha256': sha256Hex(body),
    ...(credentials.securityToken ? { 'x-acs-security-token': credentials.securityToken } : {}),
    ...input.headers,
  };
  const request: Acs3Request = {
    method: 'POST',
    pathname: input.pathname,
    query: input.query,
    headers,
    body,
  };
  const encodedPath = encodeRfc3986Path(request.pathname);
  const query = canonicalQuery(request.query);
  // Signed over the headers above; the Authorization header itself is not signed.
  headers.authorization = authorization(canonicalRequest(request, encodedPath, query), credentials);
  return sendRequest({
    origin,
    method: 'POST',
    path: `${encodedPath}${query ? `?${query}` : ''}`,
    headers,
    body,
    timeoutMs: input.timeoutMs,
  });
}

/** Parsed endpoints: a function calls one or two, every invocation. */
const origins = new Map<string, URL>();
function originOf(endpoint: string): URL {
  let origin = origins.get(endpoint);
  if (!origin) {
    origin = new URL(endpoint);
    if (origins.size >= 16) origins.clear();
    origins.set(endpoint, origin);
  }
  return origin;
}
