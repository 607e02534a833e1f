import { describe, expect, it } from 'vitest';
import { loadTokenConfig, TOKEN_SETTINGS } from '../../functions/token/config.js';
import { buildPostForm, suggestedKey } from '../../functions/token/post-policy.js';
import {
  MAX_USER_ID_LENGTH,
  parseKeyPrefixTemplate,
  roleSessionName,
  userKeySegment,
} from '../../functions/token/prefix.js';
import { partPlan } from '../../functions/token/presigned.js';
import { uploadSessionPolicy } from '../../functions/token/sts.js';
import { ConfigError, SETTINGS } from '../../shared/config.js';
import { signPostPolicyV4 } from '../../shared/oss-v4.js';

const BASE_ENV = {
  UPCALL_BUCKET: 'upcall-test',
  UPCALL_TICKET_KEYS: `k1:${'t'.repeat(32)}`,
  UPCALL_JWT_SECRET: 's'.repeat(32),
  UPCALL_UPLOAD_ROLE_ARN: 'acs:ram::1234567890123456:role/upcall-uploader',
  UPCALL_CALLBACK_URL: 'https://callback.example.com/oss-callback',
};

function configProblems(env: Record<string, string>): string[] {
  try {
    loadTokenConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

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

describe('session policy', () => {
  it('allows the three upload actions on the prefix, and reading only the outputs derived from it', () => {
    expect(JSON.parse(uploadSessionPolicy('bkt', 'uploads/bob/', 'derived/uploads/bob/'))).toEqual({
      Version: '1',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['oss:PutObject', 'oss:AbortMultipartUpload', 'oss:ListParts'],
          Resource: ['acs:oss:*:*:bkt/uploads/bob/*'],
        },
        { Effect: 'Allow', Action: ['oss:GetObject'], Resource: ['acs:oss:*:*:bkt/derived/uploads/bob/*'] },
      ],
    });
  });
});

describe('PostObject V4 form', () => {
  const credentials = {
    accessKeyId: 'STS.abc',
    accessKeySecret: 'secret-key',
    securityToken: 'CAIStoken',
    expiration: '2030-01-02T03:04:05Z',
  };
  const input = {
    bucket: 'upcall-test',
    region: 'cn-hangzhou',
    endpoint: 'https://oss-cn-hangzhou.aliyuncs.com',
    credentials,
    keyPrefix: 'uploads/bob/',
    key: 'uploads/bob/photo.png',
    maxBytes: 1000,
    contentType: 'image/png',
    callback: 'Y2FsbGJhY2s=',
    callbackVars: { 'x:ticket': 'ticket-value' },
    objectMetadata: { 'x-oss-meta-upcall-ticket': 'ticket-value' },
    now: new Date('2030-01-02T02:00:00.123Z'),
  };

  it('pins the prefix, size, type, callback, every x: field, the ticket metadata and the signing fields', () => {
    const form = buildPostForm(input);
    const policy = JSON.parse(Buffer.from(form.fields.policy!, 'base64').toString());
    expect(policy.conditions).toEqual([
      { bucket: 'upcall-test' },
      ['starts-with', '$key', 'uploads/bob/'],
      ['content-length-range', 0, 1000],
      ['eq', '$content-type', 'image/png'],
      ['eq', '$success_action_status', '200'],
      ['eq', '$callback', 'Y2FsbGJhY2s='],
      ['eq', '$x:ticket', 'ticket-value'],
      ['eq', '$x-oss-meta-upcall-ticket', 'ticket-value'],
      { 'x-oss-signature-version': 'OSS4-HMAC-SHA256' },
      { 'x-oss-credential': 'STS.abc/20300102/cn-hangzhou/oss/aliyun_v4_request' },
      { 'x-oss-date': '20300102T020000Z' },
      { 'x-oss-security-token': 'CAIStoken' },
    ]);
    expect(form.fields).toMatchObject({
      key: 'uploads/bob/photo.png',
      'Content-Type': 'image/png',
      success_action_status: '200',
      callback: 'Y2FsbGJhY2s=',
      'x:ticket': 'ticket-value',
      'x-oss-meta-upcall-ticket': 'ticket-value',
      'x-oss-signature-version': 'OSS4-HMAC-SHA256',
      'x-oss-credential': 'STS.abc/20300102/cn-hangzhou/oss/aliyun_v4_request',
      'x-oss-date': '20300102T020000Z',
      'x-oss-security-token': 'CAIStoken',
      'x-oss-signature': signPostPolicyV4(credentials, 'cn-hangzhou', input.now, form.fields.policy!),
    });
    expect(form.url).toBe('https://upcall-test.oss-cn-hangzhou.aliyuncs.com');
  });

  it('expires with the credentials or after 15 minutes, whichever comes first', () => {
    expect(buildPostForm(input).expiration).toBe('2030-01-02T02:15:00.123Z');
    const late = buildPostForm({ ...input, now: new Date('2030-01-02T03:00:00Z') });
    expect(late.expiration).toBe('2030-01-02T03:04:05.000Z');
    const policy = JSON.parse(Buffer.from(late.fields.policy!, 'base64').toString());
    expect(Date.parse(policy.expiration)).toBeLessThanOrEqual(Date.parse(credentials.expiration));
  });

  it('suggests unique keys under the prefix with a key-safe file name', () => {
    const a = suggestedKey('uploads/bob/', '../My Photo (1).PNG');
    expect(a).toMatch(/^uploads\/bob\/[0-9a-f-]{36}\/My_Photo_1_.PNG$/);
    expect(suggestedKey('uploads/bob/')).toMatch(/^uploads\/bob\/[0-9a-f-]{36}$/);
    expect(suggestedKey('p/', '...')).toMatch(/\/file$/);
    expect(suggestedKey('p/', 'x')).not.toBe(suggestedKey('p/', 'x'));
  });
});

describe('token config', () => {
  it('loads with defaults', () => {
    const config = loadTokenConfig(BASE_ENV);
    expect(config.keyPrefix('bob')).toBe('uploads/bob/');
    expect(config.publicEndpoint).toBe('https://oss-cn-hangzhou.aliyuncs.com');
    expect(config.stsEndpoint).toBe('https://sts.aliyuncs.com');
    expect(config.stsDurationSeconds).toBe(3600);
    // What the media function processes (shared/media-types.ts), phones' HEIC and QuickTime included.
    expect(config.allowedContentTypes).toEqual(
      expect.arrayContaining(['image/jpeg', 'image/heic', 'video/*']),
    );
    expect(config.allowedContentTypes).not.toContain('image/*');
    expect(config.corsOrigins).toEqual([]);
    expect(config.jwt.userClaim).toBe('sub');
  });

  it('names both JWT settings when neither is set', () => {
    const { UPCALL_JWT_SECRET: _, ...env } = BASE_ENV;
    const problems = configProblems(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('UPCALL_JWT_SECRET');
    expect(problems[0]).toContain('UPCALL_JWKS_URL');
  });

  it('requires an audience with a JWKS, and https unless on loopback', () => {
    expect(configProblems({ ...BASE_ENV, UPCALL_JWKS_URL: 'https://idp.example.com/jwks.json' })).toEqual([
      'UPCALL_JWT_AUDIENCE is required with UPCALL_JWKS_URL',
    ]);
    const plain = configProblems({
      ...BASE_ENV,
      UPCALL_JWKS_URL: 'http://idp.example.com/jwks.json',
      UPCALL_JWT_AUDIENCE: 'app',
    });
    expect(plain).toEqual([expect.stringMatching(/^UPCALL_JWKS_URL must be https/)]);
    expect(
      configProblems({
        ...BASE_ENV,
        UPCALL_JWKS_URL: 'http://127.0.0.1:8080/jwks',
        UPCALL_JWT_AUDIENCE: 'app',
      }),
    ).toEqual([]);
  });

  it('names every bad setting', () => {
    const problems = configProblems({
      ...BASE_ENV,
      UPCALL_KEY_PREFIX_TEMPLATE: 'files/',
      UPCALL_STS_DURATION_SECONDS: '7200',
      UPCALL_TICKET_TTL_SECONDS: '3600',
      UPCALL_CALLBACK_URL: 'https://cb.example.com/',
      UPCALL_UPLOADS_PREFIX: 'up*/',
    });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual([
      'UPCALL_KEY_PREFIX_TEMPLATE',
      'UPCALL_TICKET_TTL_SECONDS',
      'UPCALL_UPLOADS_PREFIX',
    ]);
    for (const [name, value] of [
      ['UPCALL_STS_DURATION_SECONDS', '600'],
      ['UPCALL_CALLBACK_URL', 'https://cb.example.com/x?y=1'],
      ['UPCALL_UPLOAD_ROLE_ARN', 'uploader'],
      ['UPCALL_CORS_ORIGINS', 'https://a.example.com/path'],
      ['UPCALL_ALLOWED_CONTENT_TYPES', 'image'],
      ['UPCALL_JWT_SECRET', 'short'],
    ]) {
      const found = configProblems({ ...BASE_ENV, [name as string]: value as string });
      expect(
        found.map((p) => p.split(' ')[0]),
        name,
      ).toEqual([name]);
    }
  });

  it('lists only registered settings', () => {
    for (const name of TOKEN_SETTINGS) expect(SETTINGS).toHaveProperty(name);
  });
});

describe('multipart part plan', () => {
  it.each([0, 1, 300 * 1024, 5 * 1024 ** 3, 48.8 * 1024 ** 4])(
    'covers %d bytes in at most 10,000 parts',
    (maxBytes) => {
      const { partSize, maxParts } = partPlan(maxBytes);
      expect(partSize).toBeGreaterThanOrEqual(8 * 1024 * 1024);
      expect(partSize % 1024).toBe(0);
      expect(maxParts).toBeGreaterThanOrEqual(1);
      expect(maxParts).toBeLessThanOrEqual(10_000);
      expect(partSize * maxParts).toBeGreaterThanOrEqual(maxBytes);
    },
  );
});
