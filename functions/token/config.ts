/** The token function's configuration: the settings it reads, validated together and turned into typed values. */
import { buildCallbackParam } from '../../shared/callback-contract.js';
import { ConfigError, loadSettings, ossEndpoint, parseSetting } from '../../shared/config.js';
import { parseTicketKeyring, type TicketKeyring } from '../../shared/upload-ticket.js';
import { parseKeyPrefixTemplate } from './prefix.js';

/** Every setting the token function reads (the deploy check compares it with s.yaml). */
export const TOKEN_SETTINGS = [
  'UPCALL_REGION',
  'UPCALL_BUCKET',
  'UPCALL_OSS_PUBLIC_ENDPOINT',
  'UPCALL_OSS_ENDPOINT',
  'UPCALL_UPLOADS_PREFIX',
  'UPCALL_DERIVED_PREFIX',
  'UPCALL_TICKET_KEYS',
  'UPCALL_TICKET_TTL_SECONDS',
  'UPCALL_JWT_SECRET',
  'UPCALL_JWKS_URL',
  'UPCALL_JWT_ISSUER',
  'UPCALL_JWT_AUDIENCE',
  'UPCALL_JWT_USER_CLAIM',
  'UPCALL_KEY_PREFIX_TEMPLATE',
  'UPCALL_UPLOAD_ROLE_ARN',
  'UPCALL_STS_ENDPOINT',
  'UPCALL_STS_DURATION_SECONDS',
  'UPCALL_CALLBACK_URL',
  'UPCALL_MAX_UPLOAD_BYTES',
  'UPCALL_ALLOWED_CONTENT_TYPES',
  'UPCALL_CORS_ORIGINS',
  'UPCALL_LOG_LEVEL',
] as const;

export interface JwtConfig {
  /** HS256 secret, when callers' tokens may be signed with it. */
  secret?: Uint8Array;
  /** JWKS URL, when callers' tokens may be RS256/ES256-signed by an identity provider. */
  jwksUrl?: URL;
  issuer?: string;
  audience?: string;
  userClaim: string;
}

export interface TokenConfig {
  region: string;
  bucket: string;
  /** The OSS endpoint handed to clients, e.g. `https://oss-cn-hangzhou.aliyuncs.com`. */
  publicEndpoint: string;
  /** The OSS endpoint the function itself calls (InitiateMultipartUpload), e.g. the `-internal` one on FC. */
  ossEndpoint: string;
  /** Builds a user's key prefix (under the uploads prefix) from the key-safe user segment. */
  keyPrefix: (userSegment: string) => string;
  /** Where the media function writes the outputs of an upload key: `<derived prefix><key>/…` (read-only for users). */
  derivedPrefix: string;
  jwt: JwtConfig;
  ticketKeyring: TicketKeyring;
  ticketTtlSeconds: number;
  uploadRoleArn: string;
  /** e.g. `https://sts.aliyuncs.com` or the local cloud's `http://127.0.0.1:PORT`. */
  stsEndpoint: string;
  stsDurationSeconds: number;
  callbackUrl: string;
  maxUploadBytes: number;
  allowedContentTypes: string[];
  /** Allowed browser origins; `'*'` allows any. */
  corsOrigins: string[] | '*';
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Load and cross-check the token function's settings; throws `ConfigError` naming every bad one. */
export function loadTokenConfig(env: NodeJS.ProcessEnv): TokenConfig {
  const s = loadSettings(TOKEN_SETTINGS, env);
  const problems: string[] = [];
  const collect = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else throw error;
      return undefined;
    }
  };

  if (s.UPCALL_JWT_SECRET === '' && s.UPCALL_JWKS_URL === '') {
    problems.push('UPCALL_JWT_SECRET or UPCALL_JWKS_URL is required (callers authenticate with a JWT)');
  }
  const jwksUrl = collect(() =>
    s.UPCALL_JWKS_URL === ''
      ? undefined
      : parseSetting('UPCALL_JWKS_URL', () => {
          const url = new URL(s.UPCALL_JWKS_URL);
          // Keys fetched over plain http could be swapped in transit; loopback is the local cloud's case.
          if (url.protocol !== 'https:' && !LOOPBACK_HOSTS.has(url.hostname)) {
            throw new Error('must be https (http only on loopback)');
          }
          return url;
        }),
  );
  if (s.UPCALL_JWKS_URL !== '' && s.UPCALL_JWT_AUDIENCE === '') {
    // An identity provider's keys sign tokens for every app it serves: only `aud` says a token is meant for us.
    problems.push('UPCALL_JWT_AUDIENCE is required with UPCALL_JWKS_URL');
  }
  if (s.UPCALL_TICKET_TTL_SECONDS < s.UPCALL_STS_DURATION_SECONDS) {
    problems.push(
      `UPCALL_TICKET_TTL_SECONDS (${s.UPCALL_TICKET_TTL_SECONDS}) must be ≥ UPCALL_STS_DURATION_SECONDS (${s.UPCALL_STS_DURATION_SECONDS}): an upload made with valid credentials needs a valid ticket`,
    );
  }
  if (/[*?]/.test(s.UPCALL_UPLOADS_PREFIX)) {
    problems.push(
      'UPCALL_UPLOADS_PREFIX must not contain * or ? (they are wildcards in the STS session policy)',
    );
  }
  const template = collect(() =>
    parseSetting('UPCALL_KEY_PREFIX_TEMPLATE', () => parseKeyPrefixTemplate(s.UPCALL_KEY_PREFIX_TEMPLATE)),
  );
  const ticketKeyring = collect(() =>
    parseSetting('UPCALL_TICKET_KEYS', () => parseTicketKeyring(s.UPCALL_TICKET_KEYS)),
  );
  collect(() => parseSetting('UPCALL_CALLBACK_URL', () => buildCallbackParam(s.UPCALL_CALLBACK_URL)));
  if (problems.length > 0 || !template || !ticketKeyring) throw new ConfigError(problems);

  const uploadsPrefix = s.UPCALL_UPLOADS_PREFIX;
  const stsEndpoint = s.UPCALL_STS_ENDPOINT.replace(/\/$/, '');
  return {
    region: s.UPCALL_REGION,
    bucket: s.UPCALL_BUCKET,
    publicEndpoint: ossEndpoint(s.UPCALL_OSS_PUBLIC_ENDPOINT, s.UPCALL_REGION),
    ossEndpoint: ossEndpoint(s.UPCALL_OSS_ENDPOINT, s.UPCALL_REGION),
    keyPrefix: (userSegment) => uploadsPrefix + template(userSegment),
    derivedPrefix: s.UPCALL_DERIVED_PREFIX,
    jwt: {
      ...(s.UPCALL_JWT_SECRET ? { secret: new TextEncoder().encode(s.UPCALL_JWT_SECRET) } : {}),
      ...(jwksUrl ? { jwksUrl } : {}),
      ...(s.UPCALL_JWT_ISSUER ? { issuer: s.UPCALL_JWT_ISSUER } : {}),
      ...(s.UPCALL_JWT_AUDIENCE ? { audience: s.UPCALL_JWT_AUDIENCE } : {}),
      userClaim: s.UPCALL_JWT_USER_CLAIM,
    },
    ticketKeyring,
    ticketTtlSeconds: s.UPCALL_TICKET_TTL_SECONDS,
    uploadRoleArn: s.UPCALL_UPLOAD_ROLE_ARN,
    stsEndpoint: /^https?:\/\//.test(stsEndpoint) ? stsEndpoint : `https://${stsEndpoint}`,
    stsDurationSeconds: s.UPCALL_STS_DURATION_SECONDS,
    callbackUrl: s.UPCALL_CALLBACK_URL,
    maxUploadBytes: s.UPCALL_MAX_UPLOAD_BYTES,
    allowedContentTypes: s.UPCALL_ALLOWED_CONTENT_TYPES.split(','),
    corsOrigins: s.UPCALL_CORS_ORIGINS === '*' ? '*' : s.UPCALL_CORS_ORIGINS.split(',').filter(Boolean),
  };
}
