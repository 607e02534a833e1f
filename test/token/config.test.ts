/** The token function's settings: defaults, validation and the problems named (config.ts). */
import { describe, expect, it } from 'vitest';
import { loadTokenConfig, TOKEN_SETTINGS } from '../../functions/token/config.js';
import { SETTINGS } from '../../shared/config.js';
import { configError } from '../helpers/config.js';

const BASE_ENV = {
  UPCALL_BUCKET: 'upcall-test',
  UPCALL_TICKET_KEYS: `k1:${'t'.repeat(32)}`,
  UPCALL_JWT_SECRET: 's'.repeat(32),
  UPCALL_UPLOAD_ROLE_ARN: 'acs:ram::1234567890123456:role/upcall-uploader',
  UPCALL_CALLBACK_URL: 'https://callback.example.com/oss-callback',
};

const configProblems = (env: Record<string, string>): string[] =>
  configError(() => loadTokenConfig(env))?.problems ?? [];

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
