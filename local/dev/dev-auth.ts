/**
 * The dev stack's secrets — the HS256 secret caller JWTs are signed with and the upload-ticket key — made once and
 * kept under the data directory, so tokens and tickets stay valid across restarts; and dev caller tokens (what an
 * app's sign-in would hand out) minted with that secret.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { SignJWT } from 'jose';
import { compileSchema, formatIssues } from '../../shared/schema.js';

const DevSecretsSchema = Type.Object(
  {
    /** `UPCALL_JWT_SECRET`. */
    jwtSecret: Type.String({ minLength: 32 }),
    /** `UPCALL_TICKET_KEYS`. */
    ticketKeys: Type.String({ minLength: 35 }),
  },
  { additionalProperties: false },
);
export type DevSecrets = Static<typeof DevSecretsSchema>;
const secretsValidator = compileSchema(DevSecretsSchema);

/** Load the secrets kept at `file`, or make and keep new ones (owner-only). */
export function loadOrCreateDevSecrets(file: string): DevSecrets {
  if (existsSync(file)) {
    const checked = secretsValidator.validate(JSON.parse(readFileSync(file, 'utf8')));
    if (!checked.ok)
      throw new Error(`${file} is damaged (${formatIssues(checked.issues)}); delete it to renew`);
    return checked.value;
  }
  const secrets: DevSecrets = {
    jwtSecret: randomBytes(32).toString('base64url'),
    ticketKeys: `dev1:${randomBytes(32).toString('base64url')}`,
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

export interface DevUserToken {
  user: string;
  jwt: string;
  /** ISO 8601. */
  expiresAt: string;
}

/** A caller JWT for `user` (in `sub`), as the token function verifies it with `UPCALL_JWT_SECRET`. */
export async function mintDevUserToken(
  jwtSecret: string,
  user: string,
  ttlSeconds = 3600,
  now = Date.now(),
): Promise<DevUserToken> {
  const expiresAtSeconds = Math.floor(now / 1000) + ttlSeconds;
  const jwt = await new SignJWT({ sub: user })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(expiresAtSeconds)
    .sign(new TextEncoder().encode(jwtSecret));
  return { user, jwt, expiresAt: new Date(expiresAtSeconds * 1000).toISOString() };
}
