/**
 * The token function's STS client against the local STS: a reset on a kept-alive connection is retried once on a
 * fresh one; STS's throttling reaches the caller as a retryable 503 (mobile shape on GET) and a log line.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenConfig } from '../../functions/token/config.js';
import { createTokenHandler } from '../../functions/token/handler.js';
import { createStsAssumeRole, StsError } from '../../functions/token/sts.js';
import type { TemporaryCredential } from '../../local/credentials.js';
import { type LocalSts, startLocalSts } from '../../local/sts/server.js';
import { answerSafely, type EdgeRequest } from '../../shared/http/edge.js';
import { createTestAccount, type TestAccount } from '../helpers/test-account.js';

let local: TestAccount;
let sts: LocalSts;
let caller: TemporaryCredential;
const servers: Server[] = [];

beforeAll(async () => {
  local = createTestAccount();
  local.putRole('uploader', 'oss:PutObject', 'acs:oss:*:*:bucket/*');
  local.putRole('token-fn', 'sts:AssumeRole', local.arn('uploader'));
  sts = await startLocalSts({ account: local.account, assumeRolePerSecond: 1000 });
  caller = local.account.issueTemporary({
    roleArn: local.arn('token-fn'),
    roleSessionName: 'fc-token',
    durationSeconds: 3600,
  });
});
afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await sts.close();
  local.close();
});

/**
 * A proxy to the local STS that breaks kept-alive connections the way an idle-closing server does: with `resetReused`
 * the second request on a connection gets its socket destroyed before any answer; with `resetAll` every request does.
 */
async function flakyProxy(mode: 'resetReused' | 'resetAll') {
  const target = new URL(sts.endpoint);
  const served = new WeakMap<Socket, number>();
  const seen = { requests: 0, connections: 0, resets: 0 };
  const server = createServer((incoming: IncomingMessage, answer) => {
    seen.requests += 1;
    const count = (served.get(incoming.socket) ?? 0) + 1;
    served.set(incoming.socket, count);
    if (mode === 'resetAll' || count > 1) {
      seen.resets += 1;
      incoming.socket.destroy();
      return;
    }
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: incoming.url,
        method: incoming.method,
        headers: incoming.headers,
      },
      (upstream) => {
        answer.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(answer);
      },
    );
    incoming.pipe(forward);
  });
  server.on('connection', () => {
    seen.connections += 1;
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const input = (user: string) => ({
  roleArn: local.arn('uploader'),
  roleSessionName: user,
  policy: JSON.stringify({
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: ['oss:PutObject'], Resource: [`acs:oss:*:*:bucket/${user}/*`] }],
  }),
  durationSeconds: 900,
});

describe('the STS client', () => {
  it('retries a reset on a reused keep-alive connection once, on a fresh connection', async () => {
    const proxy = await flakyProxy('resetReused');
    const assumeRole = createStsAssumeRole({ endpoint: proxy.endpoint });
    const first = await assumeRole(caller, input('alice'));
    const second = await assumeRole(caller, input('bob'));
    expect(first.accessKeyId).toMatch(/^STS\./);
    expect(second.accessKeyId).toMatch(/^STS\./);
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    // The second call went out on the kept-alive socket, was reset, and went again on a new connection.
    expect(proxy.seen).toEqual({ requests: 3, connections: 2, resets: 1 });
  });

  it('retries only once: a reset on the fresh connection too is StsUnreachable', async () => {
    const proxy = await flakyProxy('resetAll');
    const assumeRole = createStsAssumeRole({ endpoint: proxy.endpoint });
    const failure = await assumeRole(caller, input('carol')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StsError);
    expect(failure).toMatchObject({ kind: 'unavailable', code: 'StsUnreachable' });
    expect(proxy.seen.requests).toBe(2);
  });

  it('does not retry an answer: STS refusals and throttling come back at once', async () => {
    const assumeRole = createStsAssumeRole({ endpoint: sts.endpoint });
    const before = sts.calls().length;
    sts.failNext({
      status: 400,
      code: 'Throttling.User',
      message: 'Request was denied due to user flow control.',
    });
    const failure = await assumeRole(caller, input('dave')).catch((error: unknown) => error);
    expect(failure).toMatchObject({ kind: 'throttled', code: 'Throttling.User', retryAfterSeconds: 1 });
    expect(sts.calls().length - before).toBe(1);
  });
});

describe('the token function when STS throttles', () => {
  const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );

  it('answers 503 StsThrottled with Retry-After (the mobile shape on GET) and logs it', async () => {
    const throttled = await startLocalSts({ account: local.account, assumeRolePerSecond: 1 });
    try {
      const app = createTokenHandler(
        loadTokenConfig({
          UPCALL_BUCKET: 'bucket',
          UPCALL_TICKET_KEYS: 'k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
          UPCALL_JWT_SECRET: SECRET,
          UPCALL_UPLOAD_ROLE_ARN: local.arn('uploader'),
          UPCALL_STS_ENDPOINT: throttled.endpoint,
          UPCALL_CALLBACK_URL: 'https://callback.example.com/oss-callback',
        }),
        { assumeRole: createStsAssumeRole({ endpoint: throttled.endpoint }), env: {} },
      );
      const jwt = await new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(SECRET));
      const call = (method: 'GET' | 'POST', requestId: string): EdgeRequest => ({
        method,
        path: '/',
        query: '',
        headers: { authorization: `Bearer ${jwt}` },
        body: new Uint8Array(),
        requestId,
        sourceIp: '127.0.0.1',
      });
      const context = { log, credentials: caller };
      const handler = (request: EdgeRequest) => answerSafely(app, request, context);
      const ok = await handler(call('POST', 'r1'));
      expect(ok.status).toBe(200);
      const post = await handler(call('POST', 'r2'));
      expect(post.status).toBe(503);
      expect(post.headers['retry-after']).toBe('1');
      expect(JSON.parse(Buffer.from(post.body).toString())).toMatchObject({
        error: { code: 'StsThrottled', requestId: 'r2' },
      });
      const get = await handler(call('GET', 'r3'));
      // The stock providers read StatusCode from a 200 body (HttpURLConnection throws on ≥ 400 first).
      expect(get.status).toBe(200);
      expect(get.headers['retry-after']).toBe('1');
      expect(JSON.parse(Buffer.from(get.body).toString())).toMatchObject({
        StatusCode: 503,
        ErrorCode: 'StsThrottled',
        RequestId: 'r3',
      });
      expect(throttled.stats()).toEqual({ AssumeRole: 1, throttled: 2 });
      const logged = lines.filter((line) => line.code === 'StsThrottled');
      expect(logged).toHaveLength(2);
      expect(String(logged[0]?.msg)).toContain('Throttling.User');
    } finally {
      await throttled.close();
    }
  });
});
