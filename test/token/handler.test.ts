import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadTokenConfig } from '../../functions/token/config.js';
import { createTokenHandler, type TokenDeps } from '../../functions/token/handler.js';
import { MobileCredentialsSchema, MobileErrorSchema } from '../../functions/token/responses.js';
import { type AssumeRoleInput, StsError } from '../../functions/token/sts.js';
import { buildCallbackParam } from '../../shared/callback-contract.js';
import {
  answerSafely,
  type EdgeContext,
  type EdgeRequest,
  type EdgeResponse,
  type RoleCredentials,
} from '../../shared/http/edge.js';
import { createLogger } from '../../shared/log.js';
import { compileSchema } from '../../shared/schema.js';
import { TokenResponseSchema } from '../../shared/token-contract.js';
import { parseTicketKeyring, verifyUploadTicket } from '../../shared/upload-ticket.js';

const SECRET = 'a-shared-secret-of-at-least-32-chars!';
const TICKET_KEYS = `k1:${'t'.repeat(40)}`;
const AUDIENCE = 'upcall-app';
const ISSUER = 'https://auth.example.com/';
const CALLBACK_URL = 'https://callback.example.com/oss-callback';
const ROLE_ARN = 'acs:ram::1234567890123456:role/upcall-uploader';
const ENV = {
  UPCALL_BUCKET: 'upcall-test',
  UPCALL_TICKET_KEYS: TICKET_KEYS,
  UPCALL_JWT_SECRET: SECRET,
  UPCALL_JWT_AUDIENCE: AUDIENCE,
  UPCALL_JWT_ISSUER: ISSUER,
  UPCALL_UPLOAD_ROLE_ARN: ROLE_ARN,
  UPCALL_CALLBACK_URL: CALLBACK_URL,
  UPCALL_MAX_UPLOAD_BYTES: '1000000',
  UPCALL_ALLOWED_CONTENT_TYPES: 'image/*,video/mp4',
  UPCALL_CORS_ORIGINS: 'https://app.example.com',
};
const FUNCTION_CREDENTIALS: RoleCredentials = {
  accessKeyId: 'STS.function',
  accessKeySecret: 'function-secret',
  securityToken: 'function-token',
};
const EXPIRATION = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

const validPost = compileSchema(TokenResponseSchema);
const validMobile = compileSchema(MobileCredentialsSchema);
const validMobileError = compileSchema(MobileErrorSchema);

/** An STS double: records each call and answers with fresh credentials, or with the queued failure. */
function fakeSts() {
  const calls: Array<{ caller: RoleCredentials; input: AssumeRoleInput }> = [];
  const failures: unknown[] = [];
  const assumeRole: TokenDeps['assumeRole'] = async (caller, input) => {
    calls.push({ caller, input });
    const failure = failures.shift();
    if (failure) throw failure;
    const expiresAt = Math.floor(Date.now() / 1000) * 1000 + input.durationSeconds * 1000;
    return {
      accessKeyId: `STS.${randomUUID()}`,
      accessKeySecret: randomUUID(),
      securityToken: `CAIS${randomUUID()}`,
      expiration: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  };
  return { calls, failures, assumeRole };
}

function makeHandler(env: Record<string, string> = {}, depsEnv: NodeJS.ProcessEnv = {}) {
  const sts = fakeSts();
  const app = createTokenHandler(loadTokenConfig({ ...ENV, ...env }), {
    assumeRole: sts.assumeRole,
    env: depsEnv,
  });
  // Through the edge's boundary, as FC and the dev stack call it.
  const handler = (request: EdgeRequest, context: EdgeContext) => answerSafely(app, request, context);
  return { handler, sts };
}

function request(
  method: string,
  options: { headers?: Record<string, string>; query?: string; body?: unknown } = {},
): EdgeRequest {
  const body =
    options.body === undefined
      ? new Uint8Array()
      : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
  return {
    method,
    path: '/',
    query: options.query ?? '',
    headers: options.headers ?? {},
    body,
    requestId: randomUUID(),
    sourceIp: '127.0.0.1',
  };
}

const context = (credentials: RoleCredentials | null = FUNCTION_CREDENTIALS): EdgeContext => ({
  log: createLogger('test'),
  ...(credentials ? { credentials } : {}),
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** A POST with this bearer token and no body. */
const postWith = (token: string) => request('POST', { headers: bearer(token) });
const text = (response: EdgeResponse) => Buffer.from(response.body).toString('utf8');
// biome-ignore lint/suspicious/noExplicitAny: test reads of JSON bodies
const json = (response: EdgeResponse): any => JSON.parse(text(response));

async function hs256(
  claims: JWTPayload = {},
  options: { secret?: string; expiresIn?: string | number } = {},
) {
  return new SignJWT({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '10m')
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

describe('token: mobile GET (stock Android/iOS providers)', () => {
  it('answers exactly the fields the providers parse, StatusCode numeric, Expiration without milliseconds', async () => {
    const { handler } = makeHandler();
    const response = await handler(request('GET', { headers: bearer(await hs256()) }), context());
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const raw = text(response);
    expect(raw.startsWith('{"StatusCode":200,"AccessKeyId":"STS.')).toBe(true);
    const body = json(response);
    expect(validMobile.validate(body).ok).toBe(true);
    expect(typeof body.StatusCode).toBe('number');
    expect(body.Expiration).toMatch(EXPIRATION);
    for (const field of ['AccessKeyId', 'AccessKeySecret', 'SecurityToken']) {
      expect(typeof body[field]).toBe('string');
      expect(body[field].length).toBeGreaterThan(0);
    }
    expect(body).toMatchObject({
      Bucket: 'upcall-test',
      Region: 'cn-hangzhou',
      Endpoint: 'https://oss-cn-hangzhou.aliyuncs.com',
      KeyPrefix: 'uploads/alice/',
      CallbackParam: { ...buildCallbackParam(CALLBACK_URL) },
    });
    expect(Object.keys(body.CallbackVars)).toEqual(['x:ticket']);
    expect(body.ObjectMetadata).toEqual({ 'x-oss-meta-upcall-ticket': body.CallbackVars['x:ticket'] });
  });

  it('takes the token from the access_token query parameter (providers cannot send headers)', async () => {
    const { handler } = makeHandler();
    const token = await hs256({ sub: 'bob' });
    const response = await handler(request('GET', { query: `access_token=${token}` }), context());
    expect(json(response)).toMatchObject({ StatusCode: 200, KeyPrefix: 'uploads/bob/' });
  });

  it('reports errors in the providers shape with HTTP 200, so Android can read them', async () => {
    const { handler, sts } = makeHandler();
    const response = await handler(request('GET'), context());
    expect(response.status).toBe(200);
    const body = json(response);
    expect(validMobileError.validate(body).ok).toBe(true);
    expect(body).toEqual({
      StatusCode: 401,
      ErrorCode: 'TokenMissing',
      ErrorMessage: expect.stringContaining('access_token'),
      RequestId: expect.any(String),
    });
    expect(text(response)).toMatch(/^\{"StatusCode":401,"ErrorCode":"TokenMissing","ErrorMessage":"/);
    expect(sts.calls).toHaveLength(0);
  });
});

describe('token: caller authentication (HS256)', () => {
  const cases: Array<[string, () => Promise<Record<string, string>>, string]> = [
    ['missing', async () => ({}), 'TokenMissing'],
    [
      'not Bearer',
      async () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }),
      'TokenMissing',
    ],
    ['garbage', async () => bearer('not-a-jwt'), 'TokenInvalid'],
    [
      'expired',
      async () => bearer(await hs256({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 })),
      'TokenExpired',
    ],
    [
      'wrong key',
      async () => bearer(await hs256({}, { secret: 'another-secret-of-at-least-32-chars' })),
      'TokenInvalid',
    ],
    ['wrong audience', async () => bearer(await hs256({ aud: 'someone-else' })), 'TokenClaimRejected'],
    [
      'wrong issuer',
      async () => bearer(await hs256({ iss: 'https://evil.example.com/' })),
      'TokenClaimRejected',
    ],
    [
      'no expiry',
      async () =>
        bearer(
          await new SignJWT({ sub: 'alice', aud: AUDIENCE, iss: ISSUER })
            .setProtectedHeader({ alg: 'HS256' })
            .sign(new TextEncoder().encode(SECRET)),
        ),
      'TokenClaimRejected',
    ],
    [
      'unsigned (alg none)',
      async () => {
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const exp = Math.floor(Date.now() / 1000) + 600;
        return bearer(`${part({ alg: 'none' })}.${part({ sub: 'alice', aud: AUDIENCE, iss: ISSUER, exp })}.`);
      },
      'TokenInvalid',
    ],
  ];

  it.each(cases.map(([name, headers, code]) => ({ name, headers, code })))(
    '$name → 401 $code',
    async ({ headers, code }) => {
      const { handler, sts } = makeHandler();
      const response = await handler(request('POST', { headers: await headers() }), context());
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="upcall"/);
      expect(json(response).error).toEqual({
        code,
        message: expect.any(String),
        requestId: expect.any(String),
      });
      expect(sts.calls).toHaveLength(0);
    },
  );

  it('tolerates a little clock skew on expiry', async () => {
    const { handler } = makeHandler();
    const token = await hs256({}, { expiresIn: Math.floor(Date.now() / 1000) - 10 });
    expect((await handler(postWith(token), context())).status).toBe(200);
  });

  it('does not take the query parameter on POST (only the header-less mobile GET needs it)', async () => {
    const { handler } = makeHandler();
    const response = await handler(request('POST', { query: `access_token=${await hs256()}` }), context());
    expect(response.status).toBe(401);
    expect(json(response).error.code).toBe('TokenMissing');
  });

  it('reads the user id from the configured claim', async () => {
    const { handler } = makeHandler({ UPCALL_JWT_USER_CLAIM: 'uid' });
    const ok = await handler(postWith(await hs256({ uid: 42 })), context());
    expect(json(ok).keyPrefix).toBe('uploads/42/');
    const missing = await handler(postWith(await hs256()), context());
    expect(missing.status).toBe(401);
    expect(json(missing).error.code).toBe('TokenUserMissing');
  });

  it('refuses a user id that cannot become a key prefix', async () => {
    const { handler, sts } = makeHandler();
    const response = await handler(postWith(await hs256({ sub: 'a\u0000b' })), context());
    expect(response.status).toBe(403);
    expect(json(response).error.code).toBe('UserIdUnusable');
    expect(sts.calls).toHaveLength(0);
  });
});

describe('token: caller authentication (JWKS, RS256/ES256)', () => {
  let server: Server;
  let jwksUrl: string;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;
  let stranger: Awaited<ReturnType<typeof generateKeyPair>>;
  let jwksFetches = 0;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    stranger = await generateKeyPair('RS256');
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    server = createServer((req, res) => {
      jwksFetches += 1;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const signed = (
    key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'],
    alg: string,
    kid: string,
    claims: JWTPayload = {},
  ) =>
    new SignJWT({ sub: 'carol', aud: AUDIENCE, iss: ISSUER, ...claims })
      .setProtectedHeader({ alg, kid })
      .setExpirationTime('5m')
      .sign(key);

  const jwksHandler = (url = jwksUrl) => makeHandler({ UPCALL_JWT_SECRET: '', UPCALL_JWKS_URL: url }).handler;

  it('accepts RS256 and ES256 tokens whose keys the JWKS publishes, fetching the set once', async () => {
    const handler = jwksHandler();
    const before = jwksFetches;
    for (const token of [
      await signed(rsa.privateKey, 'RS256', 'rsa-1'),
      await signed(ec.privateKey, 'ES256', 'ec-1'),
    ]) {
      const response = await handler(postWith(token), context());
      expect(response.status).toBe(200);
      expect(json(response).keyPrefix).toBe('uploads/carol/');
    }
    expect(jwksFetches - before).toBe(1);
  });

  it('refuses a token signed by a key the JWKS does not hold, or with a wrong audience', async () => {
    const handler = jwksHandler();
    const cases: Array<[string, string]> = [
      [await signed(stranger.privateKey, 'RS256', 'rsa-1'), 'TokenInvalid'],
      [await signed(stranger.privateKey, 'RS256', 'unknown-kid'), 'TokenInvalid'],
      [await signed(rsa.privateKey, 'RS256', 'rsa-1', { aud: 'other-app' }), 'TokenClaimRejected'],
      [await hs256(), 'TokenInvalid'],
    ];
    for (const [token, code] of cases) {
      const response = await handler(postWith(token), context());
      expect(response.status).toBe(401);
      expect(json(response).error.code).toBe(code);
    }
  });

  it('answers 503 JwksUnavailable when the key set cannot be fetched', async () => {
    const handler = jwksHandler(jwksUrl.replace('jwks.json', 'missing.json'));
    const response = await handler(postWith(await signed(rsa.privateKey, 'RS256', 'rsa-1')), context());
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(json(response).error.code).toBe('JwksUnavailable');
  });

  it('takes either kind of token when both a secret and a JWKS are configured', async () => {
    const { handler } = makeHandler({ UPCALL_JWKS_URL: jwksUrl });
    for (const token of [await hs256(), await signed(ec.privateKey, 'ES256', 'ec-1')]) {
      expect((await handler(postWith(token), context())).status).toBe(200);
    }
  });
});

describe('token: POST JSON API', () => {
  it('returns credentials, prefix, limits and the callback in every client shape', async () => {
    const { handler, sts } = makeHandler();
    const response = await handler(postWith(await hs256({ sub: 'auth0|7' })), context());
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = json(response);
    const checked = validPost.validate(body);
    expect(checked.ok ? [] : checked.issues).toEqual([]);
    expect(body.keyPrefix).toBe('uploads/auth0%7C7/');
    expect(body.limits).toEqual({ maxBytes: 1000000, contentTypes: ['image/*', 'video/mp4'] });
    expect(body.form).toBeUndefined();

    const param = buildCallbackParam(CALLBACK_URL);
    const { callback } = body;
    expect(JSON.parse(Buffer.from(callback.headers['x-oss-callback'], 'base64').toString())).toEqual(param);
    const vars = JSON.parse(Buffer.from(callback.headers['x-oss-callback-var'], 'base64').toString());
    expect(vars).toEqual(callback.callbackVars);
    expect(callback.callbackParam).toEqual(param);
    expect(callback.aliOss).toEqual({
      url: CALLBACK_URL,
      body: param.callbackBody,
      contentType: param.callbackBodyType,
      customValue: { ticket: vars['x:ticket'] },
    });
    // The same ticket travels with the object, in every client's shape.
    expect(body.uploadHeaders).toEqual({ 'x-oss-meta-upcall-ticket': vars['x:ticket'] });

    const verified = await verifyUploadTicket(vars['x:ticket'], parseTicketKeyring(TICKET_KEYS));
    expect(verified).toMatchObject({
      ok: true,
      ticket: {
        userId: 'auth0|7',
        keyPrefix: 'uploads/auth0%7C7/',
        maxBytes: 1000000,
        contentTypes: ['image/*', 'video/mp4'],
      },
    });

    expect(sts.calls).toHaveLength(1);
    const [call] = sts.calls;
    expect(call?.caller).toEqual(FUNCTION_CREDENTIALS);
    expect(call?.input).toMatchObject({ roleArn: ROLE_ARN, durationSeconds: 3600 });
    expect(call?.input.roleSessionName).toMatch(/^auth0_7\.[0-9a-f]{16}$/);
    expect(JSON.parse(call?.input.policy ?? '').Statement[0].Resource).toEqual([
      'acs:oss:*:*:upcall-test/uploads/auth0%7C7/*',
    ]);
  });

  it('narrows the grant to the declared type and size, and signs a form with its own credentials', async () => {
    const { handler, sts } = makeHandler();
    const response = await handler(
      request('POST', {
        headers: bearer(await hs256()),
        body: { grant: 'form', contentType: 'image/png', size: 5000, fileName: 'cat.png' },
      }),
      context(),
    );
    const body = json(response);
    expect(sts.calls).toHaveLength(0);
    expect(body.grant).toBe('form');
    expect(body.credentials).toBeUndefined();
    expect(body.limits).toEqual({ maxBytes: 5000, contentTypes: ['image/png'] });
    expect(body.form.url).toBe('https://upcall-test.oss-cn-hangzhou.aliyuncs.com');
    expect(body.form.fields.key).toMatch(/^uploads\/alice\/[0-9a-f-]{36}\/cat\.png$/);
    expect(body.form.fields['x-oss-credential']).toMatch(/^STS\.function\//);
    expect(body.form.fields['x-oss-security-token']).toBe('function-token');
    const ticket = await verifyUploadTicket(body.form.fields['x:ticket'], parseTicketKeyring(TICKET_KEYS));
    expect(ticket.ok && ticket.ticket).toMatchObject({ userId: 'alice', maxBytes: 5000 });
    const policy = JSON.parse(Buffer.from(body.form.fields.policy, 'base64').toString());
    expect(policy.conditions).toContainEqual(['content-length-range', 0, 5000]);
    expect(policy.conditions).toContainEqual(['eq', '$callback', body.form.fields.callback]);
  });

  const refusals: Array<[string, unknown, string]> = [
    ['a type outside the allowed list', { contentType: 'application/x-msdownload' }, 'ContentTypeNotAllowed'],
    ['a video type not listed', { contentType: 'video/webm' }, 'ContentTypeNotAllowed'],
    ['a size over the maximum', { size: 1000001 }, 'MaxUploadBytesExceeded'],
    ['a form without a content type', { grant: 'form' }, 'ContentTypeRequired'],
    ['a presigned PUT without a content type', { grant: 'put' }, 'ContentTypeRequired'],
    ['an unknown grant', { grant: 'everything' }, 'InvalidRequest'],
    ['an unknown field', { bucket: 'other' }, 'InvalidRequest'],
    ['a negative size', { size: -1 }, 'InvalidRequest'],
    ['a content type with parameters', { contentType: 'text/plain; charset=utf-8' }, 'InvalidRequest'],
    ['a body that is not JSON', '{size:', 'InvalidJson'],
  ];
  it.each(refusals)('refuses %s with 400 before calling STS', async (_name, body, code) => {
    const { handler, sts } = makeHandler();
    const response = await handler(request('POST', { headers: bearer(await hs256()), body }), context());
    expect(response.status).toBe(400);
    expect(json(response).error.code).toBe(code);
    expect(sts.calls).toHaveLength(0);
  });

  it('uses the environment credentials when FC passes none, and says so when there are none', async () => {
    const env = { ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIenv', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'env-secret' };
    const withEnv = makeHandler({}, env);
    expect((await withEnv.handler(postWith(await hs256()), context(null))).status).toBe(200);
    expect(withEnv.sts.calls[0]?.caller).toEqual({ accessKeyId: 'LTAIenv', accessKeySecret: 'env-secret' });
    const none = makeHandler();
    const response = await none.handler(postWith(await hs256()), context(null));
    expect(response.status).toBe(500);
    expect(json(response).error.code).toBe('CredentialsMissing');
  });

  it('answers 405 to other methods', async () => {
    const { handler } = makeHandler();
    const response = await handler(request('PUT', { headers: bearer(await hs256()) }), context());
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, POST, OPTIONS');
  });
});

describe('token: STS failures', () => {
  const failures: Array<[string, unknown, number, string]> = [
    ['throttling', new StsError('throttled', 'Throttling.User', 'slow down', 7), 503, 'StsThrottled'],
    ['a refusal', new StsError('rejected', 'NoPermission', 'not authorized'), 502, 'Sts.NoPermission'],
    [
      'an unreachable STS',
      new StsError('unavailable', 'StsUnreachable', 'ECONNREFUSED'),
      502,
      'StsUnavailable',
    ],
    ['an unexpected crash', new TypeError('secret internals'), 500, 'InternalError'],
  ];

  it.each(failures.map(([name, failure, status, code]) => ({ name, failure, status, code })))(
    'maps $name to $status $code (POST)',
    async ({ failure, status, code }) => {
      const { handler, sts } = makeHandler();
      sts.failures.push(failure);
      const response = await handler(postWith(await hs256()), context());
      expect(response.status).toBe(status);
      expect(json(response).error.code).toBe(code);
      expect(text(response)).not.toContain('secret internals');
      if (status === 503) expect(response.headers['retry-after']).toBe('7');
    },
  );

  it.each(failures.map(([name, failure, status, code]) => ({ name, failure, status, code })))(
    'maps $name to StatusCode $status $code with HTTP 200 (GET)',
    async ({ failure, status, code }) => {
      const { handler, sts } = makeHandler();
      sts.failures.push(failure);
      const response = await handler(request('GET', { headers: bearer(await hs256()) }), context());
      expect(response.status).toBe(200);
      expect(json(response)).toMatchObject({ StatusCode: status, ErrorCode: code });
      if (status === 503) expect(response.headers['retry-after']).toBe('7');
    },
  );
});

describe('token: CORS', () => {
  const ORIGIN = 'https://app.example.com';

  it('answers an allowed preflight', async () => {
    const { handler } = makeHandler();
    const response = await handler(
      request('OPTIONS', {
        headers: {
          origin: ORIGIN,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      }),
      context(),
    );
    expect(response.status).toBe(204);
    expect(response.headers).toMatchObject({
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization, content-type',
      vary: 'Origin',
    });
  });

  it('refuses other origins, before doing any work', async () => {
    const { handler, sts } = makeHandler();
    for (const method of ['OPTIONS', 'POST']) {
      const response = await handler(
        request(method, { headers: { origin: 'https://evil.example.com', ...bearer(await hs256()) } }),
        context(),
      );
      expect(response.status).toBe(403);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      expect(json(response).error.code).toBe('OriginNotAllowed');
    }
    expect(sts.calls).toHaveLength(0);
  });

  it('lets an allowed page read successes and errors alike', async () => {
    const { handler } = makeHandler();
    const ok = await handler(
      request('POST', { headers: { origin: ORIGIN, ...bearer(await hs256()) } }),
      context(),
    );
    const denied = await handler(request('POST', { headers: { origin: ORIGIN } }), context());
    for (const response of [ok, denied]) expect(response.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(denied.status).toBe(401);
  });

  it('allows any origin with *', async () => {
    const { handler } = makeHandler({ UPCALL_CORS_ORIGINS: '*' });
    const response = await handler(
      request('POST', { headers: { origin: 'https://anywhere.example', ...bearer(await hs256()) } }),
      context(),
    );
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });
});
