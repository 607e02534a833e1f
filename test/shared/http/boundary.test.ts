import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSettings } from '../../../shared/config.js';
import {
  answerSafely,
  type EdgeApp,
  type EdgeRequest,
  type ErrorShape,
  HttpError,
  jsonResponse,
} from '../../../shared/http/edge.js';
import { createFcHttpHandler, fromFcEvent } from '../../../shared/http/fc.js';
import { useLogDestination } from '../../../shared/log.js';
import { edgeCredentials } from '../../../shared/role-credentials.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/fc/${name}`, import.meta.url));

/** A logger whose lines the test reads. */
function capturedLog() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, stream, log: pino({ level: 'info' }, stream) };
}

const request = (requestId: string, method = 'POST'): EdgeRequest => ({
  method,
  path: '/',
  query: '',
  headers: {},
  body: new Uint8Array(),
  requestId,
  sourceIp: '127.0.0.1',
});

const failingWith = (error: unknown): EdgeApp => ({
  handle: async () => {
    throw error;
  },
});

// biome-ignore lint/suspicious/noExplicitAny: test reads of JSON bodies
const json = (body: Uint8Array): any => JSON.parse(Buffer.from(body).toString('utf8'));

/** A ConfigError as the registry makes it: setting names and (non-secret) values. */
function configError(): ConfigError {
  try {
    loadSettings(['UPCALL_REGION', 'UPCALL_BUCKET'], { UPCALL_REGION: 'Region-Of-Doom' });
  } catch (error) {
    if (error instanceof ConfigError) return error;
  }
  throw new Error('expected a ConfigError');
}

describe('the edge error boundary', () => {
  it('keeps status, code and headers of a 5xx but sends its message and cause to the log only', async () => {
    const { lines, log } = capturedLog();
    const cause = new Error('upstream said: account 1234567890 has no role upcall-secret-role');
    const failure = new HttpError(503, 'StsThrottled', 'STS answered Throttling.User for role X', {
      'retry-after': '4',
    });
    Object.assign(failure, { cause });
    const response = await answerSafely(failingWith(failure), request('r-503'), { log });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('4');
    const body = Buffer.from(response.body).toString();
    expect(json(response.body).error).toEqual({
      code: 'StsThrottled',
      message: expect.stringContaining('request id r-503'),
      requestId: 'r-503',
    });
    expect(body).not.toContain('Throttling.User');
    expect(body).not.toContain('upcall-secret-role');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, code: 'StsThrottled', msg: failure.message });
    expect(JSON.stringify(lines[0])).toContain('upcall-secret-role');
  });

  it('answers a 4xx as thrown, logged once as a warning without a stack', async () => {
    const { lines, log } = capturedLog();
    const failure = new HttpError(
      400,
      'InvalidJson',
      'the request body is not JSON',
      {},
      { cause: new Error('x') },
    );
    const response = await answerSafely(failingWith(failure), request('r-400'), { log });
    expect(response.status).toBe(400);
    expect(json(response.body).error).toEqual({
      code: 'InvalidJson',
      message: 'the request body is not JSON',
      requestId: 'r-400',
    });
    expect(lines).toEqual([expect.objectContaining({ level: 40, code: 'InvalidJson', reason: 'x' })]);
    expect(lines[0]).not.toHaveProperty('err');
  });

  it("answers in the app's error shape, which sees the failure already fit for the caller", async () => {
    const seen: HttpError[] = [];
    const shape: ErrorShape = (failure, req) => {
      seen.push(failure);
      return jsonResponse(200, { Status: failure.status, Code: failure.code, Id: req.requestId });
    };
    const { log } = capturedLog();
    const app = { ...failingWith(new TypeError('secret internals')), errorShape: shape };
    const response = await answerSafely(app, request('r-shape', 'GET'), { log });
    expect(response.status).toBe(200);
    expect(json(response.body)).toEqual({ Status: 500, Code: 'InternalError', Id: 'r-shape' });
    expect(seen[0]?.message).not.toContain('secret internals');
  });

  it('reports missing function credentials under one code, the reason in the log', async () => {
    const { lines, log } = capturedLog();
    const app: EdgeApp = { handle: async () => jsonResponse(200, edgeCredentials(undefined, {})) };
    const response = await answerSafely(app, request('r-cred'), { log });
    expect(response.status).toBe(500);
    expect(json(response.body).error.code).toBe('CredentialsMissing');
    expect(Buffer.from(response.body).toString()).not.toContain('ALIBABA_CLOUD_ACCESS_KEY_ID');
    expect(String(lines[0]?.msg)).toContain('ALIBABA_CLOUD_ACCESS_KEY_ID');
  });
});

describe('the FC edge at start-up', () => {
  it('answers ConfigInvalid without setting names or values; the log names both, once at start-up', async () => {
    const { lines, stream } = capturedLog();
    useLogDestination(stream);
    const failure = configError();
    const handler = createFcHttpHandler(
      'test',
      () => {
        throw failure;
      },
      { env: { UPCALL_LOG_LEVEL: 'info' } },
    );
    expect(lines.map((line) => line.msg)).toEqual(['start-up failed']);
    const result = await handler(fixture('http-event-get.json'), { requestId: 'r-cfg' });
    const body = Buffer.from(result.body, 'base64').toString();
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(body).error).toMatchObject({ code: 'ConfigInvalid', requestId: 'r-cfg' });
    for (const detail of ['UPCALL_REGION', 'Region-Of-Doom', 'UPCALL_BUCKET']) {
      expect(body).not.toContain(detail);
      expect(JSON.stringify(lines[0])).toContain(detail);
    }
    // The request's own line carries its id, so the caller's id finds it.
    expect(lines[1]).toMatchObject({ requestId: 'r-cfg', code: 'ConfigInvalid' });
  });

  it('fails start-up naming UPCALL_LOG_LEVEL when it is not a level (read through the settings registry)', async () => {
    const { lines, stream } = capturedLog();
    useLogDestination(stream);
    let built = false;
    const handler = createFcHttpHandler(
      'test',
      () => {
        built = true;
        return failingWith(new Error('unreachable'));
      },
      { env: { UPCALL_LOG_LEVEL: 'verbose' } },
    );
    expect(built).toBe(false);
    expect(JSON.stringify(lines[0])).toContain('UPCALL_LOG_LEVEL');
    const result = await handler(fixture('http-event-get.json'), { requestId: 'r-lvl' });
    expect(JSON.parse(Buffer.from(result.body, 'base64').toString()).error.code).toBe('ConfigInvalid');
  });

  it("states the body's own length, not the client's Content-Length", () => {
    const request = fromFcEvent(fixture('http-event-post.json'), 'r') as EdgeRequest;
    expect(request.body.byteLength).toBe(37);
    // The fixture's client claimed 9999.
    expect(request.headers['content-length']).toBe('37');
  });
});
