/**
 * The upload ticket: a compact HS256 JWT carried as the `x:ticket` callback variable. The uploader writes the callback
 * template, so the ticket is the one value in a callback body it cannot forge: it binds the user, the key prefix and
 * the limits the token function granted. `kid` names the secret, so secrets can rotate.
 */
import { webcrypto } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { errors, jwtVerify, SignJWT } from 'jose';
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

export async function issueUploadTicket(
  grant: Omit<UploadTicket, 'issuedAt' | 'expiresAt'>,
  keyring: TicketKeyring,
  options: { ttlSeconds: number; now?: number },
): Promise<{ token: string; ticket: UploadTicket }> {
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  const expiresAt = issuedAt + options.ttlSeconds;
  const token = await new SignJWT({ pfx: grant.keyPrefix, max: grant.maxBytes, ct: grant.contentTypes })
    .setProtectedHeader({ alg: 'HS256', kid: keyring.signing.kid })
    .setSubject(grant.userId)
    .setAudience(TICKET_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(keyring.signing.secret);
  return { token, ticket: { ...grant, issuedAt: issuedAt * 1000, expiresAt: expiresAt * 1000 } };
}

class UnknownKidError extends Error {}

/**
 * Each key imported into WebCrypto once: given the raw secret, jose imports it again on every verification, which
 * was a sixth of the callback's per-request CPU (BENCHMARKS.md, callback path).
 */
const verificationKeys = new WeakMap<TicketKey, Promise<webcrypto.CryptoKey>>();
function verificationKey(key: TicketKey): Promise<webcrypto.CryptoKey> {
  let imported = verificationKeys.get(key);
  if (!imported) {
    imported = webcrypto.subtle.importKey('raw', key.secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ]);
    verificationKeys.set(key, imported);
  }
  return imported;
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

export async function verifyUploadTicket(
  token: string,
  keyring: TicketKeyring,
  options: { now?: number } = {},
): Promise<TicketVerification> {
  if (token === '') return { ok: false, code: 'TicketMissing', message: 'the upload carries no ticket' };
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid === undefined ? undefined : keyring.byKid.get(header.kid);
        if (!key) throw new UnknownKidError(`no ticket key with kid ${JSON.stringify(header.kid ?? null)}`);
        return verificationKey(key);
      },
      {
        algorithms: ['HS256'],
        audience: TICKET_AUDIENCE,
        requiredClaims: ['sub', 'iat', 'exp'],
        currentDate: new Date(options.now ?? Date.now()),
      },
    );
    const verified = toTicket(payload);
    const now = options.now ?? Date.now();
    if (verified.ok && verified.ticket.issuedAt > now + TICKET_CLOCK_TOLERANCE_SECONDS * 1000) {
      // Only a leaked key or a badly wrong clock makes these; either way the grant's window is not what it says.
      return { ok: false, code: 'TicketInvalid', message: 'the ticket was issued in the future' };
    }
    return verified;
  } catch (error) {
    if (error instanceof UnknownKidError)
      return { ok: false, code: 'TicketUnknownKey', message: error.message };
    if (error instanceof errors.JWTExpired) {
      const late = toTicket(error.payload);
      const ticket = late.ok ? { ticket: late.ticket } : {};
      return { ok: false, code: 'TicketExpired', message: 'the ticket has expired', ...ticket };
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return { ok: false, code: 'TicketInvalid', message: 'the ticket signature does not match' };
    }
    if (error instanceof errors.JWTClaimValidationFailed) {
      return { ok: false, code: 'TicketInvalid', message: `ticket claim rejected: ${error.message}` };
    }
    if (error instanceof errors.JOSEError)
      return { ok: false, code: 'TicketMalformed', message: error.message };
    throw error;
  }
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
