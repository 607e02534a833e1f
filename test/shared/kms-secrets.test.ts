/**
 * Secrets from KMS, for real against the local cloud: the token function deployed with only secret names reads its
 * JWT secret and ticket keys from the local KMS with its role's temporary credentials, once per refresh period, picks
 * up a rotation without a restart, and fails visibly — never leaking what it read — when it cannot read them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTokenApp } from '../../functions/token/app.js';
import { TOKEN_SETTINGS } from '../../functions/token/config.js';
import { tokenErrorShape } from '../../functions/token/responses.js';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import { RoleSession } from '../../local/dev/role-session.js';
import { createFcHttpHandler } from '../../shared/http/fc.js';
import { createSecretReader, getSecretValue, secretPlan } from '../../shared/kms-secrets.js';

const BUCKET = 'upcall-kms-test';
const JWT_SECRET = 'a-jwt-secret-kept-in-kms-of-32-chars+';
const ROTATED_JWT_SECRET = 'the-rotated-jwt-secret-of-32-chars+!';
const TICKET_KEYS = `k1:${'s'.repeat(40)}`;

let cloud: LocalCloud;
let dataDir: string;
let tokenRole: RoleSession;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'upcall-'));
  cloud = await startLocalCloud({ dataDir, buckets: [BUCKET] });
  cloud.kms.putSecret('upcall-jwt-secret', JWT_SECRET);
  cloud.kms.putSecret('upcall-ticket-keys', TICKET_KEYS);
  cloud.kms.putSecret('someone-elses-secret', 'not for upcall');
  tokenRole = new RoleSession(cloud.account, cloud.info.roles.token, 'fc-upcall-token');
});
afterAll(async () => {
  await cloud.close();
  await rm(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

function tokenEnv(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { info } = cloud;
  return {
    UPCALL_REGION: info.region,
    UPCALL_BUCKET: BUCKET,
    UPCALL_UPLOAD_ROLE_ARN: info.roles.uploader,
    UPCALL_STS_ENDPOINT: info.sts.endpoint,
    UPCALL_CALLBACK_URL: 'https://callback.example.com/oss-callback',
    UPCALL_KMS_ENDPOINT: info.kms.endpoint,
    UPCALL_JWT_SECRET_NAME: 'upcall-jwt-secret',
    UPCALL_TICKET_KEYS_SECRET_NAME: 'upcall-ticket-keys',
    UPCALL_LOG_LEVEL: 'silent',
    ...overrides,
  };
}

/** The token function as FC runs it, from `env`. */
const tokenFunction = (env: NodeJS.ProcessEnv) =>
  createFcHttpHandler('token', (_log, resolved) => createTokenApp(resolved), {
    env,
    settings: TOKEN_SETTINGS,
    startupErrorShape: tokenErrorShape([]),
  });

const jwt = (secret: string) =>
  new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

/** A POST through FC's event format, with the token role's credentials in the context. */
async function post(handler: ReturnType<typeof tokenFunction>, token: string, requestId = 'r') {
  const event = Buffer.from(
    JSON.stringify({
      version: 'v1',
      rawPath: '/',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      queryParameters: {},
      body: '{}',
      isBase64Encoded: false,
      requestContext: { requestId, http: { method: 'POST', path: '/' } },
    }),
  );
  const result = await handler(event, { requestId, credentials: tokenRole.current() });
  const text = Buffer.from(result.body, 'base64').toString('utf8');
  return { status: result.statusCode, text, body: JSON.parse(text) };
}

const kmsCallsFor = (secretName: string) =>
  cloud.kms.calls().filter((call) => call.secretName === secretName && call.status === 200);

describe('secrets from KMS', () => {
  it('reads them with the role credentials once, then from memory', async () => {
    const before = kmsCallsFor('upcall-jwt-secret').length;
    const handler = tokenFunction(tokenEnv());
    const first = await post(handler, await jwt(JWT_SECRET));
    expect(first.status).toBe(200);
    expect(first.body.credentials.accessKeyId).toMatch(/^STS\./);
    // The ticket it issued is signed with the keys KMS holds (kid k1).
    expect(first.body.callback.callbackVars['x:ticket']).toBeDefined();
    expect((await post(handler, await jwt(JWT_SECRET))).status).toBe(200);
    const calls = kmsCallsFor('upcall-jwt-secret').slice(before);
    expect(calls).toHaveLength(1);
    // Signed with the token role's temporary key, not a root key.
    expect(calls[0]?.accessKeyId).toMatch(/^STS\./);
  });

  it('picks up a rotated secret after the refresh period, without a restart', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const handler = tokenFunction(tokenEnv({ UPCALL_SECRETS_REFRESH_SECONDS: '60' }));
    expect((await post(handler, await jwt(JWT_SECRET))).status).toBe(200);
    cloud.kms.putSecret('upcall-jwt-secret', ROTATED_JWT_SECRET);
    // Within the period the value read stays in use.
    expect((await post(handler, await jwt(ROTATED_JWT_SECRET))).status).toBe(401);
    vi.setSystemTime(Date.now() + 61_000);
    expect((await post(handler, await jwt(ROTATED_JWT_SECRET))).status).toBe(200);
    expect((await post(handler, await jwt(JWT_SECRET))).status).toBe(401);
    cloud.kms.putSecret('upcall-jwt-secret', JWT_SECRET);
  });

  it('answers ConfigInvalid for a secret that does not exist, or that its role may not read', async () => {
    for (const name of ['upcall-no-such-secret', 'someone-elses-secret']) {
      const handler = tokenFunction(tokenEnv({ UPCALL_JWT_SECRET_NAME: name }));
      const answer = await post(handler, await jwt(JWT_SECRET));
      expect(answer.status).toBe(500);
      expect(answer.body.error.code).toBe('ConfigInvalid');
      expect(answer.text).not.toContain(name);
    }
    const refused = cloud.kms.calls().filter((call) => call.secretName === 'someone-elses-secret');
    expect(refused.at(-1)).toMatchObject({ status: 403, code: 'Forbidden.RAM' });
  });

  it('answers 503 SecretsUnavailable while KMS cannot be reached', async () => {
    const handler = tokenFunction(tokenEnv({ UPCALL_KMS_ENDPOINT: 'http://127.0.0.1:9' }));
    const answer = await post(handler, await jwt(JWT_SECRET));
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('SecretsUnavailable');
  });

  it('refuses a setting given both as a value and as a secret name, naming both', () => {
    expect(() => secretPlan(TOKEN_SETTINGS, tokenEnv({ UPCALL_JWT_SECRET: JWT_SECRET }))).toThrow(
      /UPCALL_JWT_SECRET and UPCALL_JWT_SECRET_NAME are both set/,
    );
  });

  it('keeps the values read last when a re-read fails, and tries again soon', async () => {
    let now = 0;
    const plan = { ...secretPlan(TOKEN_SETTINGS, tokenEnv()), refreshMs: 1000 };
    const read = createSecretReader(plan, () => now);
    const failures: unknown[] = [];
    const first = await read(tokenRole.current(), (error) => failures.push(error));
    expect(first.UPCALL_JWT_SECRET).toBe(JWT_SECRET);
    now = 2000;
    const stale = await read({ accessKeyId: 'STS.unknown', accessKeySecret: 'x' }, (error) =>
      failures.push(error),
    );
    expect(stale).toEqual(first);
    expect(failures).toHaveLength(1);
    // The failure is not retried on every call: the last values serve a little longer.
    await read({ accessKeyId: 'STS.unknown', accessKeySecret: 'x' }, (error) => failures.push(error));
    expect(failures).toHaveLength(1);
  });

  it('says which secret failed without quoting any value', async () => {
    const failure = (await getSecretValue(
      cloud.info.kms.endpoint,
      { accessKeyId: 'STS.unknown', accessKeySecret: 'x', securityToken: 't' },
      'upcall-jwt-secret',
    ).then(
      () => undefined,
      (error: unknown) => error,
    )) as Error;
    expect(failure).toMatchObject({ name: 'SecretUnavailable', transient: false });
    expect(failure.message).toContain('upcall-jwt-secret');
    expect(failure.message).not.toContain(JWT_SECRET);
  });
});
