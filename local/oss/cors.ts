/**
 * Bucket CORS, so a browser page can PostObject to the stand-in: a fresh OSS bucket has no CORS rules (preflights
 * are refused); the local OSS is given its allowed origins as one rule for every bucket (methods GET, PUT, POST,
 * DELETE, HEAD; any request header; ETag and x-oss-request-id exposed).
 */
import { OssError } from './errors.js';
import type { OssResponse } from './response.js';

const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'];
const EXPOSED = 'ETag, x-oss-request-id, x-oss-hash-crc64ecma';

const allows = (origins: readonly string[], origin: string | undefined): origin is string =>
  origin !== undefined && (origins.includes('*') || origins.includes(origin));

/** Headers added to an actual (non-preflight) response when the request's Origin is allowed. */
export function corsResponseHeaders(
  origins: readonly string[],
  origin: string | undefined,
): Record<string, string> {
  if (!allows(origins, origin)) return {};
  return { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED, vary: 'Origin' };
}

/** Answer an OPTIONS preflight. */
export function preflight(
  origins: readonly string[],
  headers: Readonly<Record<string, string | undefined>>,
): OssResponse {
  const origin = headers.origin;
  const method = headers['access-control-request-method'];
  if (!allows(origins, origin) || method === undefined || !METHODS.includes(method.toUpperCase())) {
    throw new OssError(
      403,
      'AccessForbidden',
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
    );
  }
  const requested = headers['access-control-request-headers'];
  return {
    status: 200,
    headers: {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': METHODS.join(', '),
      ...(requested ? { 'access-control-allow-headers': requested } : {}),
      'access-control-expose-headers': EXPOSED,
      'access-control-max-age': '600',
      vary: 'Origin',
    },
  };
}
