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
});
