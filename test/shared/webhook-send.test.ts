/** Sending a webhook: signed as Standard Webhooks (checked with its own verifier), answers classified, limits kept. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listen } from '../../local/listen.js';
import { webhookId } from '../../shared/webhook-events.js';
import { sendWebhook, type WebhookOutcome } from '../../shared/webhook-send.js';
import { newWebhookSecret } from '../helpers/webhook-cloud.js';
import { OBJECT, SECRET, uploadMessage } from '../helpers/webhook-fixtures.js';

/** An application whose answer depends on the path: `/<status>`, `/slow`, `/big`, `/array`, `/redirect`. */
let app: Server;
let appUrl: string;
const captured: Array<{ headers: IncomingMessage['headers']; body: string }> = [];

beforeAll(async () => {
  app = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      captured.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const path = req.url ?? '/';
      const send = (status: number, body = '', headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
      };
      if (path === '/slow') return void setTimeout(() => send(200, '{}'), 1500);
      if (path === '/big') return send(200, JSON.stringify({ pad: 'x'.repeat(70 * 1024) }));
      if (path === '/array') return send(200, '[1,2]');
      if (path === '/redirect') return send(302, '', { location: '/200' });
      const status = Number(path.slice(1));
      if (status === 200) return send(200, JSON.stringify({ recordId: 'r1' }));
      if (status === 422) return send(422, JSON.stringify({ message: 'quota exceeded' }));
      send(status);
    });
  });
  appUrl = (await listen(app)).endpoint;
});
afterAll(() => closeServer(app));

const send = (path: string, timeoutMs = 1000) =>
  sendWebhook({ url: `${appUrl}${path}`, secret: SECRET }, uploadMessage(), { timeoutMs });

describe('sending a webhook', () => {
  it('signs so that the standardwebhooks library’s own verifier accepts it, and nothing else', async () => {
    const before = captured.length;
    await send('/200');
    const { headers, body } = captured[before]!;
    const signed = {
      'webhook-id': String(headers['webhook-id']),
      'webhook-timestamp': String(headers['webhook-timestamp']),
      'webhook-signature': String(headers['webhook-signature']),
    };
    expect(signed['webhook-id']).toBe(uploadMessage().id);
    expect(Number(signed['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    expect(new Webhook(SECRET).verify(body, signed)).toEqual(JSON.parse(uploadMessage().payload));
    expect(() => new Webhook(SECRET).verify(body.replace('alice', 'mallory'), signed)).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, signed)).toThrow();
    expect(() =>
      new Webhook(SECRET).verify(body, { ...signed, 'webhook-id': webhookId('media', OBJECT) }),
    ).toThrow();
  });

  it.each<[string, Partial<WebhookOutcome>]>([
    ['/200', { kind: 'accepted', status: 200, answer: { recordId: 'r1' } }],
    ['/204', { kind: 'accepted', status: 204, answer: null }],
    ['/array', { kind: 'accepted', answer: null }],
    ['/big', { kind: 'accepted', answer: null }],
    ['/422', { kind: 'refused', status: 422, message: 'quota exceeded' }],
    ['/400', { kind: 'refused', status: 400, message: null }],
    ['/408', { kind: 'failed', status: 408 }],
    ['/429', { kind: 'failed', status: 429 }],
    ['/503', { kind: 'failed', status: 503 }],
    ['/redirect', { kind: 'failed', status: 302 }],
  ])('classifies %s', async (path, expected) => {
    expect(await send(path)).toMatchObject(expected);
  });

  it('gives up at its timeout, and reports an unreachable application', async () => {
    const started = Date.now();
    expect(await send('/slow', 300)).toMatchObject({
      kind: 'failed',
      status: null,
      reason: 'no answer within 300 ms',
    });
    expect(Date.now() - started).toBeLessThan(1000);
    const down = await sendWebhook({ url: 'http://127.0.0.1:9/hook', secret: SECRET }, uploadMessage(), {
      timeoutMs: 1000,
    });
    expect(down).toMatchObject({
      kind: 'failed',
      status: null,
      reason: expect.stringMatching(/could not reach/),
    });
  });
});
