/**
 * Caller authentication: a JWT bearer token verified with jose — HS256 with a shared secret and/or RS256/ES256 with
 * an identity provider's JWKS — then the user id read from a configurable claim. Every failure is an `HttpError`
 * with a stable code (401, or 503 when the JWKS cannot be fetched).
 */
import { createRemoteJWKSet, errors, type JWSHeaderParameters, jwtVerify } from 'jose';
import { type EdgeRequest, HttpError } from '../../shared/http/edge.js';
import type { JwtConfig } from './config.js';

/** Query parameter carrying the token on GET, for the stock mobile providers that cannot send headers (RFC 6750 §2.3). */
export const TOKEN_QUERY_PARAMETER = 'access_token';

/** Tolerated clock difference between the identity provider and FC, in seconds. */
const CLOCK_TOLERANCE_SECONDS = 30;
const JWKS_ALGORITHMS = ['RS256', 'ES256'];

export type AuthFailure =
  | 'TokenMissing'
  | 'TokenInvalid'
  | 'TokenExpired'
  | 'TokenClaimRejected'
  | 'TokenUserMissing';

function unauthorized(code: AuthFailure, message: string, cause?: unknown): HttpError {
  // RFC 6750 §3: a missing token gets a bare challenge, a bad one says invalid_token.
  const challenge =
    code === 'TokenMissing' ? 'Bearer realm="upcall"' : 'Bearer realm="upcall", error="invalid_token"';
  return new HttpError(401, code, message, { 'www-authenticate': challenge }, { cause });
}

class JwksUnavailable extends Error {}

/**
 * The caller's token: `Authorization: Bearer …`, or on GET only the `access_token` query parameter. Throws
 * `TokenMissing` when there is none.
 */
export function callerToken(request: EdgeRequest): string {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer +([^\s]+) *$/i.exec(header);
    if (!match?.[1]) throw unauthorized('TokenMissing', 'the Authorization header must be "Bearer <token>"');
    return match[1];
  }
  if (request.method === 'GET') {
    const fromQuery = new URLSearchParams(request.query).get(TOKEN_QUERY_PARAMETER);
    if (fromQuery) return fromQuery;
  }
  const where =
    request.method === 'GET'
      ? `an Authorization: Bearer header or the ${TOKEN_QUERY_PARAMETER} query parameter`
      : 'an Authorization: Bearer header';
  throw unauthorized('TokenMissing', `no token: send a JWT in ${where}`);
}

export type Authenticate = (token: string) => Promise<{ userId: string }>;

export function createAuthenticator(config: JwtConfig): Authenticate {
  const jwks = config.jwksUrl
    ? createRemoteJWKSet(config.jwksUrl, { timeoutDuration: 3000, cooldownDuration: 30_000 })
    : undefined;
  const algorithms = [...(config.secret ? ['HS256'] : []), ...(jwks ? JWKS_ALGORITHMS : [])];
  const { secret } = config;

  const key = async (header: JWSHeaderParameters, token: Parameters<NonNullable<typeof jwks>>[1]) => {
    if (header.alg === 'HS256' && secret) return secret;
    if (!jwks || !JWKS_ALGORITHMS.includes(header.alg ?? '')) {
      throw new errors.JOSEAlgNotAllowed(`"alg" (Algorithm) Header Parameter value not allowed`);
    }
    try {
      return await jwks(header, token);
    } catch (error) {
      // A kid the provider does not publish is the token's fault; anything else is the JWKS endpoint's.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
        throw error;
      throw new JwksUnavailable('the identity provider key set could not be fetched', { cause: error });
    }
  };

  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
        ...(config.issuer ? { issuer: config.issuer } : {}),
        ...(config.audience ? { audience: config.audience } : {}),
      }));
    } catch (error) {
      throw describeFailure(error);
    }
    const value = payload[config.userClaim];
    const userId = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    if (typeof userId !== 'string' || userId === '') {
      throw unauthorized('TokenUserMissing', `the token has no user id in its "${config.userClaim}" claim`);
    }
    return { userId };
  };
}

function describeFailure(error: unknown): HttpError {
  if (error instanceof JwksUnavailable) {
    return new HttpError(
      503,
      'JwksUnavailable',
      error.message,
      { 'retry-after': '5' },
      { cause: error.cause },
    );
  }
  if (error instanceof errors.JWTExpired) return unauthorized('TokenExpired', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    return unauthorized(
      'TokenClaimRejected',
      `the token's "${error.claim}" claim is not accepted (${error.message})`,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return unauthorized('TokenInvalid', 'the token signature does not verify');
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return unauthorized('TokenInvalid', 'no key of the identity provider matches the token');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return unauthorized('TokenInvalid', 'the token is signed with an algorithm that is not accepted');
  }
  if (error instanceof errors.JOSEError)
    return unauthorized('TokenInvalid', `the token is not a valid JWT: ${error.message}`, error);
  throw error;
}
