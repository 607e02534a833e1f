/**
 * From a user id to the names STS and OSS see: the user's key prefix and the STS RoleSessionName.
 *
 * The key segment must be injective (two users must never share a prefix) and must not let a user reach outside
 * their own prefix: no `/`, no `..`, no control characters, and no `*` or `?` (wildcards in the session policy's
 * Resource — `uploads/a*` would match every user starting with `a`). Characters outside a conservative set are
 * percent-encoded, `%` included, so the mapping stays one-to-one; ids that are empty, too long or contain control
 * characters are refused rather than rewritten.
 */
import { createHash } from 'node:crypto';

/** Longest user id accepted (the upload ticket's `sub` holds at most 128). */
export const MAX_USER_ID_LENGTH = 128;
/** Longest key prefix issued: keeps the session policy well under STS's 2048 characters. */
export const MAX_KEY_PREFIX_BYTES = 512;

const USER_PLACEHOLDER = '{user}';
const KEPT = /[A-Za-z0-9_@-]/;

export type UserSegment = { ok: true; segment: string } | { ok: false; reason: string };

function percentEncode(char: string): string {
  return [...Buffer.from(char, 'utf8')]
    .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');
}

/** The key-safe form of a user id, or why it cannot be made safe. */
export function userKeySegment(userId: string): UserSegment {
  if (userId.length === 0) return { ok: false, reason: 'the user id is empty' };
  if (userId.length > MAX_USER_ID_LENGTH) {
    return { ok: false, reason: `the user id is longer than ${MAX_USER_ID_LENGTH} characters` };
  }
  // Lone surrogates (\p{Cs}) cannot be encoded as UTF-8.
  if (/\p{Cs}/u.test(userId)) return { ok: false, reason: 'the user id is not well-formed Unicode' };
  // C0, DEL and C1 controls: never part of a real id, and they break logs and keys alike.
  if (/\p{Cc}/u.test(userId)) return { ok: false, reason: 'the user id contains control characters' };
  let segment = '';
  let previous = '';
  for (const char of userId) {
    // A dot is kept unless it starts the segment or follows another dot: no `.`, `..` or `...` can appear.
    const keep = KEPT.test(char) || (char === '.' && previous !== '.' && previous !== '');
    segment += keep ? char : percentEncode(char);
    previous = char;
  }
  return { ok: true, segment };
}

/**
 * Parse a key prefix template (`{user}/`, `users/{user}/files/`): `{user}` exactly once, segments that are not `.`
 * or `..`. The settings schema already limits the characters and requires the trailing `/`.
 */
export function parseKeyPrefixTemplate(template: string): (userSegment: string) => string {
  const [before, after, ...rest] = template.split(USER_PLACEHOLDER);
  if (before === undefined || after === undefined || rest.length > 0) {
    throw new Error(`must contain ${USER_PLACEHOLDER} exactly once (got ${JSON.stringify(template)})`);
  }
  if (template.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new Error(`must not contain . or .. segments (got ${JSON.stringify(template)})`);
  }
  return (userSegment) => before + userSegment + after;
}

const SESSION_NAME = /^[A-Za-z0-9.@_-]{2,64}$/;

/**
 * STS RoleSessionName (2–64 of `[A-Za-z0-9.@_-]`) for a user: the id itself when it qualifies, else a readable
 * stem plus a hash of the id, so audit logs (ActionTrail) still point at one user.
 */
export function roleSessionName(userId: string): string {
  if (SESSION_NAME.test(userId)) return userId;
  const stem = userId.replace(/[^A-Za-z0-9.@_-]+/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(userId, 'utf8').digest('hex').slice(0, 16);
  return `${stem || 'u'}.${hash}`;
}
