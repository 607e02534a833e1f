/**
 * The token function's answers: the stock mobile providers' format (GET), JSON errors (POST), and CORS for browsers.
 *
 * Mobile errors go out with HTTP 200: Android's provider reads the body only for 2xx (HttpURLConnection throws on
 * ≥ 400 first), so the real status travels in `StatusCode`.
 */
import { type Static, Type } from '@sinclair/typebox';
import { type EdgeResponse, type ErrorShape, errorResponse, jsonResponse } from '../../shared/http/edge.js';
import { STS_EXPIRATION_PATTERN, type TokenResponse } from '../../shared/token-contract.js';

/** Credentials must never be cached by a proxy or the browser. */
export const NO_STORE = { 'cache-control': 'no-store' } as const;

/** What the Android/iOS providers parse on success, plus fields they ignore (the upload's bucket, prefix, callback). */
export const MobileCredentialsSchema = Type.Object({
  StatusCode: Type.Literal(200),
  AccessKeyId: Type.String({ minLength: 1 }),
  AccessKeySecret: Type.String({ minLength: 1 }),
  SecurityToken: Type.String({ minLength: 1 }),
  Expiration: Type.String({ pattern: STS_EXPIRATION_PATTERN }),
  Bucket: Type.String(),
  Region: Type.String(),
  Endpoint: Type.String(),
  KeyPrefix: Type.String(),
  CallbackParam: Type.Record(Type.String(), Type.String()),
  CallbackVars: Type.Record(Type.String(), Type.String()),
  /** Object metadata every upload must carry (full `x-oss-meta-` names; Android's addUserMetadata drops the prefix). */
  ObjectMetadata: Type.Record(Type.String(), Type.String()),
});
export type MobileCredentials = Static<typeof MobileCredentialsSchema>;

export const MobileErrorSchema = Type.Object({
  StatusCode: Type.Integer({ minimum: 400, maximum: 599 }),
  ErrorCode: Type.String(),
  ErrorMessage: Type.String(),
  RequestId: Type.String(),
});
export type MobileError = Static<typeof MobileErrorSchema>;

export function mobileCredentials(grant: TokenResponse): MobileCredentials {
  return {
    StatusCode: 200,
    AccessKeyId: grant.credentials.accessKeyId,
    AccessKeySecret: grant.credentials.accessKeySecret,
    SecurityToken: grant.credentials.securityToken,
    Expiration: grant.credentials.expiration,
    Bucket: grant.bucket,
    Region: grant.region,
    Endpoint: grant.endpoint,
    KeyPrefix: grant.keyPrefix,
    CallbackParam: { ...grant.callback.callbackParam },
    CallbackVars: { ...grant.callback.callbackVars },
    ObjectMetadata: { ...grant.uploadHeaders },
  };
}

export function mobileErrorResponse(
  status: number,
  code: string,
  message: string,
  requestId: string,
  headers: Record<string, string>,
): EdgeResponse {
  const body: MobileError = {
    StatusCode: status,
    ErrorCode: code,
    ErrorMessage: message,
    RequestId: requestId,
  };
  return jsonResponse(200, body, { ...headers, ...NO_STORE });
}

export type CorsOrigins = readonly string[] | '*';

/**
 * The token function's errors: the mobile providers' shape on GET, the JSON error otherwise; never cached; readable by
 * an allowed origin's page. Before the configuration is known (start-up failed) no origin is allowed.
 */
export function tokenErrorShape(corsOrigins: CorsOrigins): ErrorShape {
  return (failure, request) => {
    const headers = { ...failure.headers, ...corsHeaders(corsOrigins, request.headers.origin), ...NO_STORE };
    const { status, code, message } = failure;
    return request.method === 'GET'
      ? mobileErrorResponse(status, code, message, request.requestId, headers)
      : errorResponse(status, code, message, request.requestId, headers);
  };
}

/**
 * CORS headers for a request from `origin`: `{}` when it is not a browser's cross-origin request, `undefined` when
 * the origin is not allowed.
 */
export function corsHeaders(
  allowed: CorsOrigins,
  origin: string | undefined,
): Record<string, string> | undefined {
  if (origin === undefined) return {};
  if (allowed !== '*' && !allowed.includes(origin)) return undefined;
  return {
    'access-control-allow-origin': allowed === '*' ? '*' : origin,
    'access-control-expose-headers': 'retry-after, x-request-id',
    vary: 'Origin',
  };
}

export const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-max-age': '600',
} as const;
