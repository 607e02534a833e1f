/**
 * The upload ticket: a compact HS256 JWT carried as the `x:ticket` callback variable. The uploader writes the callback
 * template, so the ticket is the one value in a callback body it cannot forge: it binds the user, the key prefix and
 * the limits the token function granted. `kid` names the secret, so secrets can rotate.
 *
 * Signed and verified with node:crypto's HMAC, synchronously: a JWS HS256 is one HMAC-SHA256 over
 * `header.payload` (RFC 7515/7519), and computing it on the calling thread costs a fraction of WebCrypto's
 * thread-pool round trip (which is all a library such as jose can use). The checks are a JWT library's for this one
 * algorithm: compact form, `alg` HS256 only, no `crit`, the `kid`'s key, a constant-time signature comparison, then
 * the claims (`aud`, required `sub`/`iat`/`exp`, numeric dates, `nbf`, `exp`).
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { compileSchema, formatIssues } from './schema.js';

const TICKET_AUDIENCE = 'upcall:upload';
/** How far a ticket's `iat` may lie ahead of the verifier's clock (the token function's and the verifier's clocks). */
export const TICKET_CLOCK_TOLERANCE_SECONDS = 30;

export interface TicketKey {
  kid: string;
  secret: Uint8Array;
}

/** Signing key first; older keys after it stay valid for verification until they are removed. */
export interface TicketKeyring {
  signing: TicketKey;
  byKid: ReadonlyMap<string, TicketKey>;
}

/** Parse `kid:secret[,kid:secret…]` (the first signs). Secrets must be at least 32 characters. */
export function parseTicketKeyring(spec: string): TicketKeyring {
  const keys = spec.split(',').map((entry) => {
    const match = /^([A-Za-z0-9_-]{1,32}):(.{32,})$/.exec(entry.trim());
    if (!match)
      throw new Error('each entry must be kid:secret with a kid of [A-Za-z0-9_-] and a secret of ≥ 32 chars');
    return { kid: match[1] as string, secret: new TextEncoder().encode(match[2] as string) };
  });
  const byKid = new Map(keys.map((key) => [key.kid, key]));
  if (byKid.size !== keys.length) throw new Error('kids must be unique');
  return { signing: keys[0] as TicketKey, byKid };
}

const TicketClaimsSchema = Type.Object({
  sub: Type.String({ minLength: 1, maxLength: 128 }),
  pfx: Type.String({ minLength: 1, maxLength: 512 }),
  max: Type.Integer({ minimum: 0 }),
  ct: Type.Array(Type.String({ pattern: '^[\\w.+-]+/([\\w.+-]+|\\*)$' }), { minItems: 1, maxItems: 32 }),
  iat: Type.Integer(),
  exp: Type.Integer(),
  aud: Type.String(),
});
const claimsValidator = compileSchema(TicketClaimsSchema);

/** What a ticket grants. Times are epoch milliseconds. */
export interface UploadTicket {
  userId: string;
  keyPrefix: string;
  maxBytes: number;
  /** Allowed content types: exact (`image/png`) or a whole top-level type (`image/*`). */
  contentTypes: string[];
  issuedAt: number;
  expiresAt: number;
}

export type TicketFailure =
  | 'TicketMissing'
  | 'TicketMalformed'
  | 'TicketUnknownKey'
  | 'TicketInvalid'
  | 'TicketExpired';
export type TicketVerification =
  | { ok: true; ticket: UploadTicket }
  /** `ticket` is present only for TicketExpired: authentic but late, so its grant still identifies the owner. */
  | { ok: false; code: TicketFailure; message: string; ticket?: UploadTicket };

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Each key's secret as a KeyObject, made once, so an HMAC does not copy the secret again. */
const hmacKeys = new WeakMap<TicketKey, KeyObject>();
function hmac(key: TicketKey, signingInput: string): Buffer {
  let secret = hmacKeys.get(key);
  if (!secret) {
    secret = createSecretKey(key.secret);
    hmacKeys.set(key, secret);
  }
  return createHmac('sha256', secret).update(signingInput).digest();
}

export async function issueUploadTicket(
  grant: Omit<UploadTicket, 'issuedAt' | 'expiresAt'>,
  keyring: TicketKeyring,
  options: { ttlSeconds: number; now?: number },
): Promise<{ token: string; ticket: UploadTicket }> {
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  const expiresAt = issuedAt + options.ttlSeconds;
  const header = base64url({ alg: 'HS256', kid: keyring.signing.kid });
  const payload = base64url({
    pfx: grant.keyPrefix,
    max: grant.maxBytes,
    ct: grant.contentTypes,
    sub: grant.userId,
    aud: TICKET_AUDIENCE,
    iat: issuedAt,
    exp: expiresAt,
  });
  const signingInput = `${header}.${payload}`;
  const token = `${signingInput}.${hmac(keyring.signing, signingInput).toString('base64url')}`;
  return { token, ticket: { ...grant, issuedAt: issuedAt * 1000, expiresAt: expiresAt * 1000 } };
}

function toTicket(payload: unknown): TicketVerification {
  const claims = claimsValidator.validate(payload);
  if (!claims.ok) return { ok: false, code: 'TicketMalformed', message: formatIssues(claims.issues) };
  const { sub, pfx, max, ct, iat, exp } = claims.value;
  return {
    ok: true,
    ticket: {
      userId: sub,
      keyPrefix: pfx,
      maxBytes: max,
      contentTypes: ct,
      issuedAt: iat * 1000,
      expiresAt: exp * 1000,
    },
  };
}

const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const REQUIRED_CLAIMS = ['sub', 'iat', 'exp'] as const;

const failure = (code: TicketFailure, message: string): TicketVerification => ({ ok: false, code, message });

/** A base64url part decoded as a JSON object, or null. */
function jsonObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** The registered claims' checks at `now` (epoch seconds): a failure, or null when they hold. */
function claimsFailure(claims: Record<string, unknown>, now: number): TicketVerification | null {
  const missing = REQUIRED_CLAIMS.find((claim) => claims[claim] === undefined);
  if (missing) return failure('TicketInvalid', `ticket claim rejected: the "${missing}" claim is missing`);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(TICKET_AUDIENCE))
    return failure('TicketInvalid', 'ticket claim rejected: unexpected "aud" claim value');
  for (const date of ['iat', 'nbf', 'exp'] as const) {
    if (claims[date] !== undefined && typeof claims[date] !== 'number')
      return failure('TicketInvalid', `ticket claim rejected: the "${date}" claim must be a number`);
  }
  if (typeof claims.nbf === 'number' && claims.nbf > now)
    return failure('TicketInvalid', 'ticket claim rejected: the ticket is not valid yet ("nbf")');
  if ((claims.exp as number) <= now) {
    // Authentic but late: its grant still says whose upload it was.
    const late = toTicket(claims);
    return {
      ...failure('TicketExpired', 'the ticket has expired'),
      ...(late.ok ? { ticket: late.ticket } : {}),
    };
  }
  return null;
}

export function verifyUploadTicket(
  token: string,
  keyring: TicketKeyring,
  options: { now?: number } = {},
): TicketVerification {
  if (token === '') return failure('TicketMissing', 'the upload carries no ticket');
  const parts = COMPACT_JWS.exec(token);
  if (!parts) return failure('TicketMalformed', 'the ticket is not a compact JWS');
  const [, encodedHeader = '', encodedPayload = '', encodedSignature = ''] = parts;
  const header = jsonObject(encodedHeader);
  if (!header) return failure('TicketMalformed', 'the ticket header is not a JSON object');
  if (header.alg !== 'HS256') return failure('TicketMalformed', 'the ticket is not signed with HS256');
  if (header.crit !== undefined) return failure('TicketMalformed', 'the ticket names critical extensions');
  const key = typeof header.kid === 'string' ? keyring.byKid.get(header.kid) : undefined;
  if (!key)
    return failure('TicketUnknownKey', `no ticket key with kid ${JSON.stringify(header.kid ?? null)}`);
  const expected = hmac(key, `${encodedHeader}.${encodedPayload}`);
  const signature = Buffer.from(encodedSignature, 'base64url');
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected))
    return failure('TicketInvalid', 'the ticket signature does not match');
  const claims = jsonObject(encodedPayload);
  if (!claims) return failure('TicketMalformed', 'the ticket claims are not a JSON object');
  const now = options.now ?? Date.now();
  const rejected = claimsFailure(claims, Math.floor(now / 1000));
  if (rejected) return rejected;
  const verified = toTicket(claims);
  if (verified.ok && verified.ticket.issuedAt > now + TICKET_CLOCK_TOLERANCE_SECONDS * 1000) {
    // Only a leaked key or a badly wrong clock makes these; either way the grant's window is not what it says.
    return failure('TicketInvalid', 'the ticket was issued in the future');
  }
  return verified;
}

/** Whether a content type is within a ticket's allowed list (`image/*` allows every image type). */
export function contentTypeAllowed(contentType: string, allowed: readonly string[]): boolean {
  const type = contentType.toLowerCase().split(';')[0]?.trim() ?? '';
  return allowed.some((pattern) =>
    pattern.endsWith('/*')
      ? type.startsWith(pattern.slice(0, -1).toLowerCase())
      : type === pattern.toLowerCase(),
  );
}
