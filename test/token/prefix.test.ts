/** User ids made key-safe, the key prefix template, and the RoleSessionName derived from a user (prefix.ts). */
import { describe, expect, it } from 'vitest';
import {
  MAX_USER_ID_LENGTH,
  parseKeyPrefixTemplate,
  roleSessionName,
  userKeySegment,
} from '../../functions/token/prefix.js';

describe('user id → key segment', () => {
  it('keeps plain ids as they are', () => {
    for (const id of ['alice', 'a1b2-c3_d4', 'user@example.com', '1234567890', 'auth0.abc']) {
      expect(userKeySegment(id)).toEqual({ ok: true, segment: id });
    }
  });

  it('percent-encodes slashes, wildcards, % and non-ASCII, so no user reaches another prefix', () => {
    const cases: Array<[string, string]> = [
      ['a/b', 'a%2Fb'],
      ['../etc', '%2E%2E%2Fetc'],
      ['a*', 'a%2A'],
      ['a?', 'a%3F'],
      ['auth0|42', 'auth0%7C42'],
      ['50%', '50%25'],
      ['zoë', 'zo%C3%AB'],
      ['a b', 'a%20b'],
      ['\\x', '%5Cx'],
    ];
    for (const [id, segment] of cases) expect(userKeySegment(id)).toEqual({ ok: true, segment });
  });

  it('never leaves ., .. or a leading dot', () => {
    expect(userKeySegment('.')).toEqual({ ok: true, segment: '%2E' });
    expect(userKeySegment('..')).toEqual({ ok: true, segment: '%2E%2E' });
    expect(userKeySegment('a..b')).toEqual({ ok: true, segment: 'a.%2Eb' });
    expect(userKeySegment('.hidden')).toEqual({ ok: true, segment: '%2Ehidden' });
    for (const id of ['...', 'x...y', '.a.', 'a.b..c']) {
      const result = userKeySegment(id);
      expect(result.ok && !result.segment.includes('..') && !result.segment.startsWith('.')).toBe(true);
    }
  });

  it('is one-to-one: ids that look alike get different segments', () => {
    const ids = ['a%2Fb', 'a/b', 'a_b', 'a|b', 'a.b', 'a..b', 'a.%2Eb', 'A/B'];
    const segments = ids.map((id) => {
      const result = userKeySegment(id);
      if (!result.ok) throw new Error(result.reason);
      expect(decodeURIComponent(result.segment)).toBe(id);
      return result.segment;
    });
    expect(new Set(segments).size).toBe(ids.length);
  });

  it('refuses ids that cannot be made safe', () => {
    for (const id of [
      '',
      'a\nb',
      'a\u0000',
      '\u007f',
      'a\u0085b',
      'x'.repeat(MAX_USER_ID_LENGTH + 1),
      'a\ud800b',
    ]) {
      expect(userKeySegment(id).ok, JSON.stringify(id)).toBe(false);
    }
  });
});

describe('key prefix template', () => {
  it('puts the segment where {user} is', () => {
    expect(parseKeyPrefixTemplate('{user}/')('bob')).toBe('bob/');
    expect(parseKeyPrefixTemplate('users/u-{user}/files/')('bob')).toBe('users/u-bob/files/');
  });

  it('refuses templates without exactly one {user}, or with dot segments', () => {
    for (const template of ['files/', '{user}/{user}/', './{user}/', '{user}/../']) {
      expect(() => parseKeyPrefixTemplate(template)).toThrow();
    }
  });
});

describe('RoleSessionName', () => {
  const VALID = /^[A-Za-z0-9.@_-]{2,64}$/;

  it('is the user id when STS accepts it', () => {
    expect(roleSessionName('alice@example.com')).toBe('alice@example.com');
  });

  it('is a readable stem plus a hash otherwise, always within STS rules', () => {
    const ids = ['a', 'auth0|1234', 'zoë', 'x'.repeat(128), '日本語', '/', 'a b c'];
    const names = ids.map(roleSessionName);
    for (const name of names) expect(name).toMatch(VALID);
    expect(roleSessionName('auth0|1234')).toMatch(/^auth0_1234\.[0-9a-f]{16}$/);
    expect(new Set(names).size).toBe(ids.length);
    expect(roleSessionName('auth0|1234')).toBe(roleSessionName('auth0|1234'));
  });
});
