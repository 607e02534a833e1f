import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  type EdgeApp,
  type EdgeRequest,
  HttpError,
  jsonResponse,
  requestContext,
} from '../../../shared/http/edge.js';
import { createFcHttpHandler, fromFcEvent } from '../../../shared/http/fc.js';
import { createNodeListener } from '../../../shared/http/node.js';
import { createLogger } from '../../../shared/log.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/fc/${name}`, import.meta.url));

/** Echo what the edge gave the handler, so tests see the typed request. */
const echo: EdgeApp = {
  handle: async (request) =>
    jsonResponse(200, { ...request, body: Buffer.from(request.body).toString('base64') }),
};

describe('requestContext', () => {
  it("makes the request's child logger on first use only, once, carrying the request id", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const parent = pino({ level: 'info' }, sink);
    const made: unknown[] = [];
    const child = parent.child.bind(parent);
    parent.child = ((bindings: pino.Bindings) => {
      made.push(bindings);
      return child(bindings);
    }) as typeof parent.child;
    const credentials = { accessKeyId: 'id', accessKeySecret: 'secret' };
    const context = requestContext(parent, 'req-7', credentials);
    expect(context.credentials).toBe(credentials);
    expect(made).toEqual([]);
    context.log.info('one');
    context.log.warn('two');
    expect(made).toEqual([{ requestId: 'req-7' }]);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(lines.map((line) => JSON.parse(line).requestId)).toEqual(['req-7', 'req-7']);
        resolve();
      }),
    );
  });
});

describe('FC 3.0 HTTP event adapter', () => {
  it('keeps rawPath and the body bytes exactly, lower-cases headers', () => {
    const request = fromFcEvent(fixture('http-event-post.json'), 'r1') as EdgeRequest;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/callback/a%20b/%2e%2e/c');
    expect(request.query).toBe('');
    expect(Buffer.from(request.body).toString()).toBe('bucket=upcall-demo&object=uploads%2Fa');
    expect(request.headers.authorization).toBe('sig==');
    expect(request.headers['x-oss-pub-key-url']).toBeDefined();
    expect(request.sourceIp).toBe('100.64.0.7');
  });

  it('rebuilds the query from the parsed map (lossy, documented)', () => {
    const request = fromFcEvent(fixture('http-event-get.json'), 'r2') as EdgeRequest;
    expect(request.query).toBe('token=a%20b%2Bc&flag=');
    expect(request.body.byteLength).toBe(0);
  });

  it('answers with base64 body, exact Content-Length and the request id', async () => {
    const handler = createFcHttpHandler('test', () => echo);
    const result = await handler(fixture('http-event-post.json'), { requestId: 'fc-req-1' });
    const body = Buffer.from(result.body, 'base64');
    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(true);
    expect(result.headers['content-length']).toBe(String(body.length));
    expect(result.headers['x-request-id']).toBe('fc-req-1');
    expect(JSON.parse(body.toString()).requestId).toBe('fc-req-1');
  });

  it('turns a malformed event into a 400, not a crash', async () => {
    const handler = createFcHttpHandler('test', () => echo);
    for (const event of [Buffer.from('{not json'), Buffer.from('{"rawPath":1}')]) {
      const result = await handler(event, { requestId: 'x' });
      expect(result.statusCode).toBe(400);
      expect(JSON.parse(Buffer.from(result.body, 'base64').toString()).error.code).toBe('BadEvent');
    }
  });

  it('answers ConfigInvalid when start-up failed, the setting named in the log only', async () => {
    const handler = createFcHttpHandler('test', () => {
      throw new Error('Invalid configuration: UPCALL_BUCKET is required');
    });
    const result = await handler(fixture('http-event-get.json'), { requestId: 'x' });
    expect(result.statusCode).toBe(500);
    const error = JSON.parse(Buffer.from(result.body, 'base64').toString()).error;
    expect(error).toEqual({
      code: 'ConfigInvalid',
      message: expect.stringContaining('request id x'),
      requestId: 'x',
    });
    expect(error.message).not.toContain('UPCALL_BUCKET');
  });

  it('maps HttpError to its JSON error and hides nothing but unexpected internals', async () => {
    const failing: EdgeApp = {
      handle: async (request) => {
        if (request.method === 'GET') throw new HttpError(429, 'Slow', 'slow down', { 'retry-after': '3' });
        throw new Error('secret internals');
      },
    };
    const handler = createFcHttpHandler('test', () => failing);
    const get = await handler(fixture('http-event-get.json'), { requestId: 'a' });
    expect(get.statusCode).toBe(429);
    expect(get.headers['retry-after']).toBe('3');
    expect(JSON.parse(Buffer.from(get.body, 'base64').toString())).toEqual({
      error: { code: 'Slow', message: 'slow down', requestId: 'a' },
    });
    const post = await handler(fixture('http-event-post.json'), { requestId: 'b' });
    const body = Buffer.from(post.body, 'base64').toString();
    expect(post.statusCode).toBe(500);
    expect(body).not.toContain('secret internals');
    expect(JSON.parse(body).error.message).toContain('b');
  });

  it('passes FC role credentials through to the handler', async () => {
    let seen: unknown;
    const handler = createFcHttpHandler('test', () => ({
      handle: async (_request, context) => {
        seen = context.credentials;
        return jsonResponse(200, {});
      },
    }));
    const credentials = { accessKeyId: 'STS.a', accessKeySecret: 's', securityToken: 't' };
    await handler(fixture('http-event-get.json'), { requestId: 'c', credentials });
    expect(seen).toEqual(credentials);
  });
});

function rawPost(url: string, body: Buffer): Promise<{ headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const { host, port } = new URL(url);
    const path = url.slice(url.indexOf('/', 'http://'.length));
    const req = request({ host: host.split(':')[0], port, path, method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('node:http adapter', () => {
  async function serve(handler: EdgeApp, maxBodyBytes?: number) {
    const server = createServer(createNodeListener(handler, { log: createLogger('test'), maxBodyBytes }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it('gives the raw path, raw query and exact body', async () => {
    const { server, base } = await serve(echo);
    try {
      const body = Buffer.from([0xef, 0xbb, 0xbf, 0x00, 0xff, 0x0a]);
      // node:http sends the path as written (fetch would normalise the dot segment away).
      const { headers, text } = await rawPost(`${base}/a%2Fb/%2e%2e/c?x=a+b&x=%20&flag`, body);
      const seen = JSON.parse(text);
      expect(Number(headers['content-length'])).toBe(Buffer.byteLength(text));
      expect(seen.path).toBe('/a%2Fb/%2e%2e/c');
      expect(seen.query).toBe('x=a+b&x=%20&flag');
      expect(Buffer.from(seen.body, 'base64')).toEqual(body);
    } finally {
      server.close();
    }
  });

  it('refuses an oversized body with 413 JSON', async () => {
    const { server, base } = await serve(echo, 10);
    try {
      const response = await fetch(`${base}/`, { method: 'POST', body: 'x'.repeat(100) });
      expect(response.status).toBe(413);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BodyTooLarge');
    } finally {
      server.close();
    }
  });
});
