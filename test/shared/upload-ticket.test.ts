import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  contentTypeAllowed,
  issueUploadTicket,
  parseTicketKeyring,
  verifyUploadTicket,
} from '../../shared/upload-ticket.js';

const SECRET_A = 'a'.repeat(32);
const SECRET_B = 'b'.repeat(40);
const grant = {
  userId: 'alice',
  keyPrefix: 'uploads/alice/',
  maxBytes: 10_000_000,
  contentTypes: ['image/*', 'video/mp4'],
};
const NOW = Date.UTC(2026, 10, 21, 9, 0, 0);

describe('upload ticket', () => {
  const keyring = parseTicketKeyring(`k1:${SECRET_A}`);

  it('round-trips the grant, compact enough for a callback variable', async () => {
    const { token, ticket } = await issueUploadTicket(grant, keyring, { ttlSeconds: 86400, now: NOW });
    expect(token.length).toBeLessThan(400);
    const result = await verifyUploadTicket(token, keyring, { now: NOW + 1000 });
    expect(result).toEqual({ ok: true, ticket });
    expect(ticket).toMatchObject({ ...grant, issuedAt: NOW, expiresAt: NOW + 86_400_000 });
  });

  it('is missing when empty', async () => {
    expect(await verifyUploadTicket('', keyring)).toMatchObject({ ok: false, code: 'TicketMissing' });
  });

  it('refuses a tampered payload or signature', async () => {
    const { token } = await issueUploadTicket(grant, keyring, { ttlSeconds: 900, now: NOW });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), pfx: 'uploads/' }),
    ).toString('base64url');
    expect(await verifyUploadTicket(`${header}.${forged}.${signature}`, keyring, { now: NOW })).toMatchObject(
      { ok: false, code: 'TicketInvalid' },
    );
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await verifyUploadTicket(`${header}.${payload}.${flipped}`, keyring, { now: NOW })).toMatchObject({
      ok: false,
      code: 'TicketInvalid',
    });
    expect(await verifyUploadTicket('not-a-ticket', keyring)).toMatchObject({
      ok: false,
      code: 'TicketMalformed',
    });
  });

  it('refuses a ticket issued further ahead than the clock tolerance', async () => {
    const { token } = await issueUploadTicket(grant, keyring, { ttlSeconds: 7200, now: NOW + 3_600_000 });
    expect(await verifyUploadTicket(token, keyring, { now: NOW })).toEqual({
      ok: false,
      code: 'TicketInvalid',
      message: 'the ticket was issued in the future',
    });
    // Within the tolerance (clocks a little apart) it holds.
    const { token: close } = await issueUploadTicket(grant, keyring, { ttlSeconds: 900, now: NOW + 20_000 });
    expect(await verifyUploadTicket(close, keyring, { now: NOW })).toMatchObject({ ok: true });
  });

  it('expires', async () => {
    const { token } = await issueUploadTicket(grant, keyring, { ttlSeconds: 900, now: NOW });
    expect(await verifyUploadTicket(token, keyring, { now: NOW + 899_000 })).toMatchObject({ ok: true });
    // An authentic but late ticket still says whose it was.
    expect(await verifyUploadTicket(token, keyring, { now: NOW + 901_000 })).toMatchObject({
      ok: false,
      code: 'TicketExpired',
      ticket: { userId: 'alice', keyPrefix: 'uploads/alice/' },
    });
  });

  it('refuses an unknown kid and a ticket signed with a different secret under a known kid', async () => {
    const other = parseTicketKeyring(`k9:${SECRET_B}`);
    const { token } = await issueUploadTicket(grant, other, { ttlSeconds: 900, now: NOW });
    expect(await verifyUploadTicket(token, keyring, { now: NOW })).toMatchObject({
      ok: false,
      code: 'TicketUnknownKey',
    });
    const impostor = parseTicketKeyring(`k1:${SECRET_B}`);
    const { token: forged } = await issueUploadTicket(grant, impostor, { ttlSeconds: 900, now: NOW });
    expect(await verifyUploadTicket(forged, keyring, { now: NOW })).toMatchObject({
      ok: false,
      code: 'TicketInvalid',
    });
  });

  it('rotates: new key signs, old key still verifies until removed', async () => {
    const { token: oldToken } = await issueUploadTicket(grant, keyring, { ttlSeconds: 900, now: NOW });
    const rotated = parseTicketKeyring(`k2:${SECRET_B},k1:${SECRET_A}`);
    const { token: newToken } = await issueUploadTicket(grant, rotated, { ttlSeconds: 900, now: NOW });
    expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid).toBe('k2');
    expect(await verifyUploadTicket(oldToken, rotated, { now: NOW })).toMatchObject({ ok: true });
    expect(await verifyUploadTicket(newToken, rotated, { now: NOW })).toMatchObject({ ok: true });
    const retired = parseTicketKeyring(`k2:${SECRET_B}`);
    expect(await verifyUploadTicket(oldToken, retired, { now: NOW })).toMatchObject({
      ok: false,
      code: 'TicketUnknownKey',
    });
  });

  it.each(['', 'k1', `k1:short`, `k1:${SECRET_A},k1:${SECRET_B}`, `bad kid!:${SECRET_A}`])(
    'refuses the keyring %j',
    (spec) => {
      expect(() => parseTicketKeyring(spec)).toThrow();
    },
  );

  it('matches content types exactly or by top-level wildcard', () => {
    expect(contentTypeAllowed('image/png', ['image/*'])).toBe(true);
    expect(contentTypeAllowed('Image/PNG; charset=x', ['image/*'])).toBe(true);
    expect(contentTypeAllowed('imagex/png', ['image/*'])).toBe(false);
    expect(contentTypeAllowed('video/mp4', ['video/mp4'])).toBe(true);
    expect(contentTypeAllowed('video/webm', ['video/mp4'])).toBe(false);
  });

  describe('as a JWT library checks an HS256 JWS (verified by node:crypto, cross-checked with jose)', () => {
    const secret = new TextEncoder().encode(SECRET_A);
    const iat = NOW / 1000;
    const claims = { pfx: grant.keyPrefix, max: grant.maxBytes, ct: grant.contentTypes };
    const signed = (
      header: Record<string, unknown>,
      payload: Record<string, unknown> = claims,
      set: (jwt: SignJWT) => SignJWT = (jwt) =>
        jwt
          .setSubject('alice')
          .setAudience('upcall:upload')
          .setIssuedAt(iat)
          .setExpirationTime(iat + 900),
    ) =>
      set(new SignJWT(payload))
        .setProtectedHeader({ alg: 'HS256', kid: 'k1', ...header } as { alg: string })
        .sign(secret);
    const verify = (token: string) => verifyUploadTicket(token, keyring, { now: NOW });

    it('accepts a ticket jose signed, and jose accepts ours', async () => {
      expect(verify(await signed({}))).toMatchObject({ ok: true, ticket: { ...grant, issuedAt: NOW } });
      const { jwtVerify } = await import('jose');
      const { token } = await issueUploadTicket(grant, keyring, { ttlSeconds: 900, now: NOW });
      const { payload, protectedHeader } = await jwtVerify(token, secret, {
        audience: 'upcall:upload',
        currentDate: new Date(NOW),
      });
      expect(protectedHeader).toEqual({ alg: 'HS256', kid: 'k1' });
      expect(payload).toMatchObject({ sub: 'alice', pfx: grant.keyPrefix, iat, exp: iat + 900 });
    });

    it('refuses other algorithms, critical extensions and a missing kid', async () => {
      const [, payload, signature] = (await signed({})).split('.') as [string, string, string];
      const header = (fields: object) => Buffer.from(JSON.stringify(fields)).toString('base64url');
      for (const alg of ['none', 'HS512', 'RS256']) {
        expect(verify(`${header({ alg, kid: 'k1' })}.${payload}.${signature}`)).toMatchObject({
          code: 'TicketMalformed',
        });
      }
      expect(verify(`${header({ alg: 'HS256', kid: 'k1' })}.${payload}.`)).toMatchObject({
        code: 'TicketMalformed',
      });
      expect(verify(await signed({ crit: ['b64'], b64: true }))).toMatchObject({ code: 'TicketMalformed' });
      expect(verify(await signed({ kid: undefined }))).toMatchObject({ code: 'TicketUnknownKey' });
    });

    it('checks the claims: audience, required sub/iat/exp, numeric dates, not-before', async () => {
      const cases: Array<[string, (jwt: SignJWT) => SignJWT]> = [
        [
          'no audience',
          (jwt) =>
            jwt
              .setSubject('alice')
              .setIssuedAt(iat)
              .setExpirationTime(iat + 900),
        ],
        [
          'another audience',
          (jwt) =>
            jwt
              .setSubject('alice')
              .setAudience('x')
              .setIssuedAt(iat)
              .setExpirationTime(iat + 900),
        ],
        [
          'no sub',
          (jwt) =>
            jwt
              .setAudience('upcall:upload')
              .setIssuedAt(iat)
              .setExpirationTime(iat + 900),
        ],
        ['no exp', (jwt) => jwt.setSubject('alice').setAudience('upcall:upload').setIssuedAt(iat)],
        [
          'not yet valid',
          (jwt) =>
            jwt
              .setSubject('alice')
              .setAudience('upcall:upload')
              .setIssuedAt(iat)
              .setNotBefore(iat + 60)
              .setExpirationTime(iat + 900),
        ],
      ];
      for (const [name, set] of cases) {
        expect(verify(await signed({}, claims, set)), name).toMatchObject({ code: 'TicketInvalid' });
      }
      const stringDate = await signed({ typ: 'JWT' }, { ...claims, exp: String(iat + 900) }, (jwt) =>
        jwt.setSubject('alice').setAudience('upcall:upload').setIssuedAt(iat),
      );
      expect(verify(stringDate)).toMatchObject({ code: 'TicketInvalid' });
      // Authentic, in date, but not a grant: the claims' own schema.
      const noPrefix = await signed({}, { max: 1, ct: ['image/png'] });
      expect(verify(noPrefix)).toMatchObject({ code: 'TicketMalformed' });
    });
  });
});
