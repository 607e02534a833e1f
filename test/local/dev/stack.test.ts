/** The dev stack's parts: role credentials that renew, the functions' environment, kept secrets, stack.json reading. */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upcallRoles } from '../../../local/cloud.js';
import { LocalAccount } from '../../../local/credentials.js';
import { loadOrCreateDevSecrets, mintDevUserToken } from '../../../local/dev/dev-auth.js';
import { devFunctionEnv } from '../../../local/dev/function-env.js';
import { RoleSession } from '../../../local/dev/role-session.js';
import { readDevStackInfo } from '../../../local/dev/stack-info.js';
import type { StackInfo } from '../../../local/stack-info.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'upcall-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const info: StackInfo = {
  region: 'cn-hangzhou',
  accountId: '1234567890123456',
  buckets: ['upcall-local'],
  oss: {
    endpoint: 'http://127.0.0.1:9100',
    publicKeyUrl: 'http://127.0.0.1:9100/_local/callback_pub_key_v1.pem',
    trustedKeyUrlPrefix: 'http://127.0.0.1:9100/_local/',
    publicKeyPem: '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n',
  },
  sts: { endpoint: 'http://127.0.0.1:9101' },
  fc: { endpoint: 'http://127.0.0.1:9102' },
  kms: { endpoint: 'http://127.0.0.1:9103' },
  rootCredentials: { accessKeyId: 'LTAIroot', accessKeySecret: 'secret' },
  roles: {
    uploader: 'acs:ram::1234567890123456:role/upcall-uploader',
    token: 'acs:ram::1234567890123456:role/upcall-token',
    callback: 'acs:ram::1234567890123456:role/upcall-callback',
    media: 'acs:ram::1234567890123456:role/upcall-media',
  },
};

describe('RoleSession', () => {
  it('hands out the role’s credentials and mints new ones in the last 10 minutes before they expire', () => {
    const account = new LocalAccount(join(dir, 'account.json'));
    const roles = upcallRoles(account.accountId, 'cn-hangzhou', ['upcall-local']);
    account.putRole(roles.callback);
    const session = new RoleSession(account, roles.callback.arn, 'fc-upcall-callback');
    const now = Date.now();
    const first = session.current(now);
    const issued = account.lookup(first.accessKeyId);
    expect(issued?.kind === 'temporary' && issued.credential).toMatchObject({
      roleArn: roles.callback.arn,
      roleSessionName: 'fc-upcall-callback',
      securityToken: first.securityToken,
    });
    expect(session.current(now + 49 * 60_000)).toEqual(first);
    const renewed = session.current(now + 51 * 60_000);
    expect(renewed.accessKeyId).not.toBe(first.accessKeyId);
    expect(account.lookup(renewed.accessKeyId)?.kind).toBe('temporary');
    expect(() => new RoleSession(account, 'acs:ram::1:role/none', 'x')).toThrow(/does not exist/);
  });
});

describe('devFunctionEnv', () => {
  const secrets = { jwtSecret: 's'.repeat(43), ticketKeys: `dev1:${'t'.repeat(43)}` };
  const build = (base: NodeJS.ProcessEnv) =>
    devFunctionEnv({
      info,
      bucket: 'upcall-local',
      secrets,
      callbackUrl: 'http://127.0.0.1:9111/',
      corsOrigins: ['http://127.0.0.1:9120', 'http://localhost:9120'],
      base,
    });

  it('takes the stack’s values over the developer’s, passes other settings, and nothing unregistered', () => {
    const env = build({
      UPCALL_BUCKET: 'someone-elses',
      UPCALL_OSS_ENDPOINT: 'https://oss-cn-hangzhou.aliyuncs.com',
      UPCALL_THUMBNAIL_SIZES: '100x100',
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIleak',
      PATH: '/usr/bin',
    });
    expect(env).toMatchObject({
      UPCALL_BUCKET: 'upcall-local',
      UPCALL_OSS_ENDPOINT: info.oss.endpoint,
      UPCALL_OSS_PUBLIC_ENDPOINT: info.oss.endpoint,
      UPCALL_STS_ENDPOINT: info.sts.endpoint,
      UPCALL_FC_ENDPOINT: info.fc.endpoint,
      UPCALL_UPLOAD_ROLE_ARN: info.roles.uploader,
      UPCALL_CALLBACK_URL: 'http://127.0.0.1:9111/',
      UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX: info.oss.trustedKeyUrlPrefix,
      UPCALL_JWT_SECRET: secrets.jwtSecret,
      UPCALL_TICKET_KEYS: secrets.ticketKeys,
      UPCALL_THUMBNAIL_SIZES: '100x100',
    });
    expect(env).not.toHaveProperty('ALIBABA_CLOUD_ACCESS_KEY_ID');
    expect(env).not.toHaveProperty('PATH');
  });

  it('adds the demo’s origins to the developer’s CORS origins', () => {
    expect(build({}).UPCALL_CORS_ORIGINS).toBe('http://127.0.0.1:9120,http://localhost:9120');
    expect(
      build({ UPCALL_CORS_ORIGINS: 'https://app.example.com,http://localhost:9120' }).UPCALL_CORS_ORIGINS,
    ).toBe('https://app.example.com,http://localhost:9120,http://127.0.0.1:9120');
    expect(build({ UPCALL_CORS_ORIGINS: '*' }).UPCALL_CORS_ORIGINS).toBe('*');
  });
});

describe('dev auth', () => {
  it('makes the secrets once, owner-only, and keeps them', () => {
    const file = join(dir, 'keys', 'dev-auth.json');
    const made = loadOrCreateDevSecrets(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(made.ticketKeys).toMatch(/^dev1:[A-Za-z0-9_-]{43}$/);
    expect(loadOrCreateDevSecrets(file)).toEqual(made);
    writeFileSync(file, '{"jwtSecret":"short"}');
    expect(() => loadOrCreateDevSecrets(file)).toThrow(/damaged.*delete it/);
  });

  it('mints a caller JWT with the user in sub and an expiry', async () => {
    const token = await mintDevUserToken('k'.repeat(32), 'alice', 600, Date.UTC(2030, 0, 1));
    expect(decodeJwt(token.jwt)).toMatchObject({ sub: 'alice', exp: Date.UTC(2030, 0, 1) / 1000 + 600 });
    expect(token.expiresAt).toBe('2030-01-01T00:10:00.000Z');
  });
});

describe('readDevStackInfo', () => {
  it('names what is wrong: no file, or a local cloud’s stack.json without the dev stack’s fields', () => {
    expect(() => readDevStackInfo(join(dir, 'none.json'))).toThrow(/does not exist: start the dev stack/);
    const file = join(dir, 'stack.json');
    writeFileSync(file, JSON.stringify(info));
    expect(() => readDevStackInfo(file)).toThrow(/not `npm run local-cloud`\?\): .*token is required/);
  });
});
