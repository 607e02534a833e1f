/**
 * The token function end to end on the local cloud: its FC entry run with temporary credentials of its own role,
 * the real `@alicloud/sts20150401` client against the STS stand-in, and the issued credentials and forms used by the
 * real ali-oss client and a real multipart POST against the OSS stand-in.
 */

import { randomUUID } from 'node:crypto';
import OSS from 'ali-oss';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TemporaryCredential } from '../../local/credentials.js';
import { startLocalSts } from '../../local/sts/server.js';
import { encodeCallbackHeader, parseCallbackBody } from '../../shared/callback-contract.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { compileSchema } from '../../shared/schema.js';
import {
  type FormGrant,
  FormGrantSchema,
  type TokenResponse,
  TokenResponseSchema,
} from '../../shared/token-contract.js';
import { parseTicketKeyring, verifyUploadTicket } from '../../shared/upload-ticket.js';
import {
  BUCKET,
  ossError,
  parseErrorXml,
  REGION,
  startCallbackSink,
  startHarness,
} from '../helpers/local-oss.js';
import { useForSuite } from '../helpers/suite.js';

const JWT_SECRET = 'token-test-secret-of-at-least-32-chars';
const TICKET_KEYS = `k1:${'k'.repeat(40)}`;
const EXPIRATION = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

const harness = useForSuite(() => startHarness());
const sink = useForSuite(startCallbackSink);
const sts = useForSuite(() => startLocalSts({ account: harness.account }));
let handler: typeof import('../../functions/token/index.js')['handler'];
let functionCredentials: TemporaryCredential;
let uploaderArn: string;
let tokenRoleArn: string;

beforeAll(async () => {
  const { account } = harness;
  // The harness's role allows oss:* on the bucket; the token function narrows it per user with a session policy.
  uploaderArn = `acs:ram::${account.accountId}:role/uploader`;
  tokenRoleArn = `acs:ram::${account.accountId}:role/upcall-token`;
  account.putRole({
    arn: tokenRoleArn,
    maxSessionDuration: 3600,
    policy: JSON.stringify({
      Version: '1',
      Statement: [
        { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: uploaderArn },
        // The grants signed without AssumeRole (form, presigned PUT and multipart) use these.
        {
          Effect: 'Allow',
          Action: ['oss:PutObject', 'oss:AbortMultipartUpload', 'oss:ListParts'],
          Resource: `acs:oss:*:*:${BUCKET}/uploads/*`,
        },
      ],
    }),
  });
  functionCredentials = account.issueTemporary({
    roleArn: tokenRoleArn,
    roleSessionName: 'upcall-token',
    durationSeconds: 3600,
  });
  const env = {
    UPCALL_REGION: REGION,
    UPCALL_BUCKET: BUCKET,
    UPCALL_OSS_PUBLIC_ENDPOINT: harness.oss.endpoint,
    UPCALL_TICKET_KEYS: TICKET_KEYS,
    UPCALL_JWT_SECRET: JWT_SECRET,
    UPCALL_UPLOAD_ROLE_ARN: uploaderArn,
    UPCALL_STS_ENDPOINT: sts.endpoint,
    UPCALL_STS_DURATION_SECONDS: '900',
    UPCALL_CALLBACK_URL: `${sink.url}/oss-callback`,
    UPCALL_MAX_UPLOAD_BYTES: '100000',
    UPCALL_ALLOWED_CONTENT_TYPES: 'image/*,text/plain',
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  // The FC entry reads its configuration when loaded, as on FC.
  ({ handler } = await import('../../functions/token/index.js'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

const userToken = (sub: string) =>
  new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JWT_SECRET));

function fcEvent(
  method: 'GET' | 'POST',
  options: { token?: string; query?: Record<string, string>; body?: unknown },
) {
  const body = options.body === undefined ? '' : Buffer.from(JSON.stringify(options.body)).toString('base64');
  return Buffer.from(
    JSON.stringify({
      version: 'v1',
      rawPath: '/',
      body,
      isBase64Encoded: true,
      headers: {
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      queryParameters: options.query ?? {},
      requestContext: {
        requestId: randomUUID(),
        http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      },
    }),
  );
}

async function invoke(event: Buffer, credentials: RoleCredentials = functionCredentials) {
  const result = await handler(event, { requestId: randomUUID(), credentials });
  // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON bodies
  const body: any = JSON.parse(Buffer.from(result.body, 'base64').toString('utf8'));
  return { status: result.statusCode, headers: result.headers, body };
}

async function grant(user: string, body: object = {}): Promise<TokenResponse> {
  const { status, body: answer } = await invoke(fcEvent('POST', { token: await userToken(user), body }));
  expect(status, JSON.stringify(answer)).toBe(200);
  const checked = compileSchema(TokenResponseSchema).validate(answer);
  expect(checked.ok ? [] : checked.issues).toEqual([]);
  return answer as TokenResponse;
}

/** ali-oss configured the way an app would from the token response. */
function appClient(answer: TokenResponse): OSS {
  const { credentials } = answer;
  return new OSS({
    endpoint: answer.endpoint,
    region: `oss-${answer.region}`,
    bucket: answer.bucket,
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    stsToken: credentials.securityToken,
    authorizationV4: true,
    timeout: 10_000,
    // Given so ali-oss does not print its advice to set them; the test ends long before the credentials do.
    refreshSTSToken: async () => ({
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.accessKeySecret,
      stsToken: credentials.securityToken,
    }),
    refreshSTSTokenInterval: 3_600_000,
  });
}

async function ticketOfLastCallback() {
  const last = sink.received.at(-1);
  expect(last?.path).toBe('/oss-callback');
  const parsed = parseCallbackBody(last?.body ?? Buffer.alloc(0));
  if (!parsed.ok) throw new Error(parsed.message);
  const verified = await verifyUploadTicket(parsed.notice.ticket, parseTicketKeyring(TICKET_KEYS));
  if (!verified.ok) throw new Error(verified.message);
  return { notice: parsed.notice, ticket: verified.ticket };
}

describe('token function on the local cloud', () => {
  it('serves the mobile GET through its FC entry, calling STS with its own temporary credentials', async () => {
    const before = sts.calls().length;
    const { status, body } = await invoke(
      fcEvent('GET', { query: { access_token: await userToken('alice') } }),
    );
    expect(status).toBe(200);
    expect(body.StatusCode).toBe(200);
    expect(body.Expiration).toMatch(EXPIRATION);
    expect(body.KeyPrefix).toBe('uploads/alice/');
    const calls = sts.calls().slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      action: 'AssumeRole',
      status: 200,
      accessKeyId: functionCredentials.accessKeyId,
      securityToken: functionCredentials.securityToken,
    });
    // What STS minted is what the app got: the same key, session name and a session policy on the prefix.
    const issued = harness.account.lookup(body.AccessKeyId);
    expect(issued?.kind).toBe('temporary');
    if (issued?.kind !== 'temporary') return;
    expect(issued.credential).toMatchObject({
      roleArn: uploaderArn,
      roleSessionName: 'alice',
      expiration: body.Expiration,
    });
    expect(JSON.parse(issued.credential.sessionPolicy ?? '{}').Statement[0].Resource).toEqual([
      `acs:oss:*:*:${BUCKET}/uploads/alice/*`,
    ]);
  });

  it('issues credentials ali-oss uploads with into the user prefix only, callback attached', async () => {
    const answer = await grant('alice');
    const client = appClient(answer);
    const key = `${answer.keyPrefix}notes.txt`;

    const put = await client.put(key, Buffer.from('hello'), {
      mime: 'text/plain',
      callback: answer.callback.aliOss,
    } as OSS.PutObjectOptions);
    expect(put.res.status).toBe(200);
    expect(put.data).toEqual({ ok: true });
    const { notice, ticket } = await ticketOfLastCallback();
    expect(notice).toMatchObject({ key, size: 5, operation: 'PutObject' });
    expect(ticket).toMatchObject({ userId: 'alice', keyPrefix: 'uploads/alice/' });

    // The REST header shape works as well.
    const viaHeaders = await client.put(`${answer.keyPrefix}b.txt`, Buffer.from('b'), {
      mime: 'text/plain',
      headers: answer.callback.headers,
    });
    expect(viaHeaders.res.status).toBe(200);
    expect((await ticketOfLastCallback()).notice.key).toBe(`${answer.keyPrefix}b.txt`);

    // Multipart within the prefix: initiate, list parts, abort.
    const { uploadId } = await client.initMultipartUpload(`${answer.keyPrefix}big.bin`);
    await client.listParts(`${answer.keyPrefix}big.bin`, uploadId, {} as OSS.ListPartsQuery);
    await client.abortMultipartUpload(`${answer.keyPrefix}big.bin`, uploadId);

    const stored = await harness.client().head(key);
    expect(stored.status).toBe(200);

    for (const outside of [
      'uploads/top.txt',
      'uploads/bob/x.txt',
      'uploads/alice-evil/x.txt',
      'derived/x.txt',
    ]) {
      const refused = await ossError(client.put(outside, Buffer.from('x')));
      expect(refused.status, outside).toBe(403);
      expect(refused.code).toBe('AccessDenied');
    }
    // Upload rights only: reading back, even its own object, is not granted.
    expect((await ossError(client.get(key))).status).toBe(403);
  });

  it('signs a PostObject form that a browser-style multipart POST uploads as-is', async () => {
    const before = sts.calls().length;
    const { status, body: answer } = await invoke(
      fcEvent('POST', {
        token: await userToken('carol'),
        body: { grant: 'form', contentType: 'image/png', fileName: 'dot.png', size: 1000 },
      }),
    );
    expect(status, JSON.stringify(answer)).toBe(200);
    expect(compileSchema(FormGrantSchema).validate(answer).ok).toBe(true);
    // Signed with the function's own role credentials: no AssumeRole.
    expect(sts.calls().length).toBe(before);
    const form = (answer as FormGrant).form;
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    const post = (fields: Record<string, string>, file: Buffer = png) => {
      const data = new FormData();
      for (const [name, value] of Object.entries(fields)) data.append(name, value);
      data.append('file', new Blob([file], { type: 'image/png' }), 'dot.png');
      return fetch(form.url, { method: 'POST', body: data });
    };

    const ok = await post(form.fields);
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
    const { notice, ticket } = await ticketOfLastCallback();
    expect(notice).toMatchObject({ key: form.fields.key, operation: 'PostObject', contentType: 'image/png' });
    expect(notice.image).toEqual({ width: 1, height: 1, format: 'png' });
    expect(ticket).toMatchObject({
      userId: 'carol',
      keyPrefix: 'uploads/carol/',
      maxBytes: 1000,
      contentTypes: ['image/png'],
    });

    const attackerCallback = encodeCallbackHeader({
      callbackUrl: 'https://attacker.example.com/cb',
      callbackBody: 'object=${object}',
      callbackBodyType: 'application/x-www-form-urlencoded',
    });
    const { callback: _dropped, ...withoutCallback } = form.fields;
    const tampered: Array<[string, Record<string, string>]> = [
      ['altered callback', { ...form.fields, callback: attackerCallback }],
      ['dropped callback', withoutCallback],
      ['altered ticket', { ...form.fields, 'x:ticket': `${form.fields['x:ticket']}x` }],
      ['key outside the prefix', { ...form.fields, key: 'uploads/dave/dot.png' }],
      ['other content type', { ...form.fields, 'Content-Type': 'text/html' }],
    ];
    const callbacksBefore = sink.received.length;
    for (const [name, fields] of tampered) {
      const refused = await post(fields);
      expect(refused.status, name).toBe(403);
      expect(parseErrorXml(await refused.text()).Code, name).toBe('AccessDenied');
    }
    const tooLarge = await post(form.fields, Buffer.alloc(1001));
    expect(tooLarge.status).toBe(400);
    expect(parseErrorXml(await tooLarge.text()).Code).toBe('EntityTooLarge');
    expect(sink.received.length).toBe(callbacksBefore);
  });

  it('maps STS errors: throttling to 503 with Retry-After, refusals to 502 with STS code', async () => {
    // A user with no credentials issued yet: a user's credentials are reused, so only a new one reaches STS.
    const token = await userToken('sts-errors');
    sts.failNext({
      status: 400,
      code: 'Throttling.User',
      message: 'Request was denied due to user flow control.',
    });
    const throttledGet = await invoke(fcEvent('GET', { query: { access_token: token } }));
    expect(throttledGet.status).toBe(200);
    expect(throttledGet.body).toMatchObject({ StatusCode: 503, ErrorCode: 'StsThrottled' });
    expect(throttledGet.headers['retry-after']).toMatch(/^\d+$/);

    sts.failNext({
      status: 400,
      code: 'Throttling.Api',
      message: 'Request was denied due to api flow control.',
    });
    const throttledPost = await invoke(fcEvent('POST', { token }));
    expect(throttledPost.status).toBe(503);
    expect(throttledPost.body.error.code).toBe('StsThrottled');
    expect(throttledPost.headers['retry-after']).toMatch(/^\d+$/);

    sts.failNext({ status: 500, code: 'InternalError', message: 'STS Server Internal Error happened.' });
    const internal = await invoke(fcEvent('POST', { token }));
    expect(internal.status).toBe(502);
    expect(internal.body.error.code).toBe('Sts.InternalError');

    // A function role that may not assume the uploader role: STS's own refusal, evaluated by the stand-in.
    const powerless = harness.account.issueTemporary({
      roleArn: `acs:ram::${harness.account.accountId}:role/uploader`,
      roleSessionName: 'not-the-token-role',
      durationSeconds: 900,
    });
    const refused = await invoke(fcEvent('POST', { token }), powerless);
    expect(refused.status).toBe(502);
    expect(refused.body.error.code).toBe('Sts.NoPermission');
    const refusedGet = await invoke(fcEvent('GET', { query: { access_token: token } }), powerless);
    expect(refusedGet.status).toBe(200);
    expect(refusedGet.body).toMatchObject({ StatusCode: 502, ErrorCode: 'Sts.NoPermission' });

    // A forged security token never gets past STS's authentication.
    const forged = await invoke(fcEvent('POST', { token }), {
      ...functionCredentials,
      securityToken: 'CAISforged',
    });
    expect(forged.status).toBe(502);
    expect(forged.body.error.code).toMatch(/^Sts\.InvalidSecurityToken/);
  });
});
