/**
 * The webhook parts on their own: signing (checked with the standardwebhooks library's own verifier), how answers are
 * classified, event ids and schemas, settings, the callback's hook decisions against an in-memory OSS and FC, and
 * the outbox's refusal to sign what its id does not describe.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCallbackConfig } from '../../functions/callback/config.js';
import { type CallbackDeps, createCallbackHandler } from '../../functions/callback/handler.js';
import { AFTER_HOOK_RESERVE_MS } from '../../functions/callback/upload-hook.js';
import { loadMediaConfig } from '../../functions/media/config.js';
import { createOutbox } from '../../functions/media/outbox.js';
import type { MediaStore } from '../../functions/media/store.js';
import { closeServer, listen } from '../../local/listen.js';
import { ConfigError } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import type { MediaJob } from '../../shared/media-job.js';
import type { MediaManifest } from '../../shared/media-manifest.js';
import {
  mediaResultMessage,
  outboxRecord,
  outboxRecordValidator,
  uploadCompletedMessage,
  type WebhookDelivery,
  type WebhookMessage,
  webhookEventValidator,
  webhookId,
} from '../../shared/webhook-events.js';
import { sendWebhook, type WebhookOutcome } from '../../shared/webhook-send.js';
import { answerValidator, callJson, ETAG, inMemoryCallback } from '../helpers/callback-core.js';
import { userTicket } from '../helpers/upload-tickets.js';
import { newWebhookSecret } from '../helpers/webhook-cloud.js';

const SECRET = newWebhookSecret();
const OBJECT = {
  bucket: 'upcall-test',
  key: 'uploads/alice/cat.png',
  etag: ETAG,
  size: 2048,
  contentType: 'image/png',
  claimedImage: { width: 64, height: 48, format: 'png' },
};
const uploadMessage = () =>
  uploadCompletedMessage({ object: OBJECT, userId: 'alice', jobs: [] }, Date.UTC(2026, 0, 2));

const MANIFEST: MediaManifest = {
  version: 1,
  status: 'succeeded',
  taskId: 'upcall-abc',
  bucket: 'upcall-test',
  key: 'uploads/alice/cat.png',
  etag: ETAG,
  kind: 'image',
  contentType: 'image/png',
  size: 2048,
  source: 'callback',
  attempt: 1,
  outputs: [],
  timings: { requestedAt: 1, startedAt: 2, finishedAt: 3, steps: {} },
};

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

describe('events and ids', () => {
  it('derives one id per object version and hook, usable as an FC task id with an attempt suffix', () => {
    expect(webhookId('upload', OBJECT)).toBe(webhookId('upload', { ...OBJECT }));
    expect(webhookId('upload', OBJECT)).not.toBe(webhookId('media', OBJECT));
    expect(webhookId('upload', OBJECT)).not.toBe(
      webhookId('upload', { ...OBJECT, etag: ETAG.replace('0', '1') }),
    );
    expect(`${webhookId('media', OBJECT)}-12`).toMatch(/^[A-Za-z_][A-Za-z0-9_-]{0,127}$/);
  });

  it('builds events that match the published schemas, with stable bodies', () => {
    const upload = JSON.parse(uploadMessage().payload);
    expect(webhookEventValidator.validate(upload).ok).toBe(true);
    expect(upload).toMatchObject({ type: 'upload.completed', timestamp: '2026-01-02T00:00:00.000Z' });
    expect(uploadMessage().payload).toBe(uploadMessage().payload);
    const ready = mediaResultMessage(MANIFEST);
    const failed = mediaResultMessage({
      ...MANIFEST,
      status: 'failed',
      error: { code: 'CorruptMedia', message: 'x' },
    });
    expect([ready.type, failed.type]).toEqual(['media.ready', 'media.failed']);
    expect(ready.id).toBe(failed.id);
    expect(webhookEventValidator.validate(JSON.parse(failed.payload)).ok).toBe(true);
    expect(outboxRecordValidator.validate(outboxRecord(ready, 1)).ok).toBe(true);
  });
});

describe('settings', () => {
  const callbackEnv = {
    UPCALL_BUCKET: 'upcall-test',
    UPCALL_TICKET_KEYS: `k1:${'t'.repeat(32)}`,
    UPCALL_FC_ENDPOINT: 'http://127.0.0.1:2',
  };
  const problem = (load: () => unknown) => {
    try {
      load();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).message;
    }
    return null;
  };

  it('leaves the hooks off by default', () => {
    expect(loadCallbackConfig(callbackEnv).uploadHook).toBeUndefined();
    expect(loadMediaConfig(callbackEnv).webhooks).toBeUndefined();
  });

  it('reads them when a URL is set, and names what is wrong without echoing the secret', () => {
    const hooked = { ...callbackEnv, UPCALL_UPLOAD_HOOK_URL: 'https://app.example/hooks' };
    expect(problem(() => loadCallbackConfig(hooked))).toMatch(/UPCALL_WEBHOOK_SECRET is required/);
    const short = `whsec_${Buffer.alloc(8).toString('base64')}`;
    const message = problem(() => loadCallbackConfig({ ...hooked, UPCALL_WEBHOOK_SECRET: short }));
    expect(message).toMatch(/UPCALL_WEBHOOK_SECRET must be whsec_/);
    expect(message).not.toContain(short);
    expect(loadCallbackConfig({ ...hooked, UPCALL_WEBHOOK_SECRET: SECRET }).uploadHook).toEqual({
      url: 'https://app.example/hooks',
      secret: SECRET,
      timeoutMs: 2000,
      failurePolicy: 'fail',
    });
    const media = {
      ...callbackEnv,
      UPCALL_MEDIA_HOOK_URL: 'https://app.example/media',
      UPCALL_WEBHOOK_SECRET: SECRET,
    };
    expect(loadMediaConfig(media).webhooks).toMatchObject({
      urls: { upload: null, media: 'https://app.example/media' },
      retryDelaysSeconds: [10, 60, 300, 1800, 3600, 3600, 3600, 3600],
    });
    expect(
      problem(() => loadMediaConfig({ ...media, UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS: '10,3601' })),
    ).toMatch(/UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS delays are at most 3600/);
  });
});

describe('the callback with an upload hook', () => {
  const core = inMemoryCallback();
  const config = (failurePolicy: 'fail' | 'accept') =>
    core.config({
      deadlineMs: 1500,
      uploadHook: { url: 'http://app.invalid/hook', secret: SECRET, timeoutMs: 4000, failurePolicy },
    });

  /** In-memory OSS and FC; the application answers with `outcome` after `delayMs`. */
  function world(failurePolicy: 'fail' | 'accept', outcome: WebhookOutcome, delayMs = 0) {
    const steps: string[] = [];
    const tags = new Map<string, Record<string, string>>();
    const sent: Array<{ message: WebhookMessage; timeoutMs: number }> = [];
    const enqueued: WebhookDelivery[] = [];
    const dispatched: MediaJob[] = [];
    let enqueueFails = false;
    // Issued just before OSS stored the object: the ticket is judged at the object's Last-Modified.
    const storedAt = Date.UTC(2026, 0, 2);
    const ticket = userTicket(core.keyring, 'alice', {
      maxBytes: 10_000,
      contentTypes: ['image/*'],
      now: storedAt - 1000,
    });
    const deps: CallbackDeps = {
      objectStore: () => ({
        async head() {
          return {
            etag: ETAG,
            size: 2048,
            contentType: 'image/png',
            lastModified: storedAt,
            ticket: await ticket,
          };
        },
        async tag(objectKey, value) {
          tags.set(objectKey, value);
        },
      }),
      async dispatch(job) {
        steps.push('dispatch');
        dispatched.push(job);
        return 'queued';
      },
      now: Date.now,
      uploadHook: {
        async send(message, timeoutMs) {
          steps.push('hook');
          sent.push({ message, timeoutMs });
          await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, timeoutMs)));
          return delayMs > timeoutMs ? { kind: 'failed', status: null, reason: 'timeout' } : outcome;
        },
        async enqueue(delivery) {
          steps.push('enqueue');
          if (enqueueFails) throw new Error('FC down');
          enqueued.push(delivery);
          return 'queued';
        },
      },
    };
    const handler = createCallbackHandler(config(failurePolicy), deps);
    return {
      steps,
      tags,
      sent,
      enqueued,
      dispatched,
      failEnqueue: () => {
        enqueueFails = true;
      },
      async call() {
        const request = core.signedRequest({
          object: 'uploads/alice/cat.png',
          mimeType: 'image/png',
          'imageInfo.format': 'png',
          ticket: await ticket,
        });
        const started = Date.now();
        const answer = await callJson(handler, request);
        return { ...answer, elapsedMs: Date.now() - started };
      },
    };
  }

  it('asks the application first, then queues the job, and merges its answer under app', async () => {
    const w = world('fail', { kind: 'accepted', status: 200, answer: { recordId: 'r9', status: 'hijack' } });
    const { status, body } = await w.call();
    expect(status).toBe(200);
    expect(answerValidator.validate(body).ok).toBe(true);
    expect(body).toMatchObject({
      status: 'accepted',
      userId: 'alice',
      app: { recordId: 'r9', status: 'hijack' },
    });
    expect(w.steps).toEqual(['hook', 'dispatch']);
    const event = JSON.parse(w.sent[0]!.message.payload);
    expect(event).toMatchObject({ type: 'upload.completed', timestamp: '2026-01-02T00:00:00.000Z' });
    expect(event.data.jobs[0].taskId).toBe(w.dispatched[0]?.taskId);
    // The hook never gets more than the deadline leaves, minus what the answer still needs.
    expect(w.sent[0]!.timeoutMs).toBeLessThanOrEqual(1500 - AFTER_HOOK_RESERVE_MS);
  });

  it('a veto refuses and tags the upload, with the application’s message, and queues nothing', async () => {
    const w = world('accept', { kind: 'refused', status: 409, message: 'duplicate photo' });
    const { status, body } = await w.call();
    expect(status).toBe(403);
    expect(body.error).toMatchObject({
      code: 'RefusedByApplication',
      message: expect.stringContaining('duplicate photo'),
    });
    expect(w.tags.get('uploads/alice/cat.png')).toEqual({
      'upcall-status': 'rejected',
      'upcall-reason': 'RefusedByApplication',
    });
    expect(w.steps).toEqual(['hook']);
  });

  it('fail policy: a slow application gets a 503 back to OSS before the deadline, nothing queued or tagged', async () => {
    const w = world('fail', { kind: 'accepted', status: 200, answer: null }, 5000);
    const { status, body, elapsedMs } = await w.call();
    expect(status).toBe(503);
    expect(body.error.code).toBe('ApplicationUnavailable');
    expect(elapsedMs).toBeLessThan(1500);
    expect(w.steps).toEqual(['hook']);
    expect(w.tags.size).toBe(0);
  });

  it('accept policy: a failing application gets its event queued as attempt 2; the upload is accepted', async () => {
    const w = world('accept', { kind: 'failed', status: 502, reason: 'the application answered 502' });
    const { status, body } = await w.call();
    expect(status).toBe(200);
    expect(body.app).toBeNull();
    expect(w.steps).toEqual(['hook', 'enqueue', 'dispatch']);
    const delivery = w.enqueued[0]!.deliver;
    expect(delivery).toMatchObject({ webhookId: w.sent[0]!.message.id, attempt: 2 });
    expect(delivery.record?.payload).toBe(w.sent[0]!.message.payload);

    const down = world('accept', { kind: 'failed', status: null, reason: 'refused' });
    down.failEnqueue();
    const refused = await down.call();
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('ApplicationUnavailable');
    expect(down.steps).toEqual(['hook', 'enqueue']);
  });
});

describe('the outbox', () => {
  function memoryStore(): MediaStore & { objects: Map<string, Buffer> } {
    const objects = new Map<string, Buffer>();
    const missing = async () => null;
    return {
      objects,
      async head(objectKey) {
        const body = objects.get(objectKey);
        return body
          ? { etag: 'E', size: body.length, contentType: 'application/json', lastModified: null, ticket: '' }
          : null;
      },
      async read(objectKey) {
        return objects.get(objectKey) ?? null;
      },
      async write(objectKey, body) {
        objects.set(objectKey, body);
      },
      async create(objectKey, body) {
        if (objects.has(objectKey)) return false;
        objects.set(objectKey, body);
        return true;
      },
      openRead: missing,
      writeFile: async () => undefined,
      tags: missing,
      tag: async () => undefined,
    };
  }

  function outbox(answers: WebhookOutcome[]) {
    const store = memoryStore();
    const sent: string[] = [];
    const scheduled: WebhookDelivery[] = [];
    const box = createOutbox(
      {
        derivedPrefix: 'derived/',
        webhooks: {
          secret: SECRET,
          urls: { upload: 'http://a/u', media: 'http://a/m' },
          timeoutMs: 1000,
          retryDelaysSeconds: [5, 60],
        },
      },
      {
        store,
        async send(target, message) {
          sent.push(`${target.url} ${message.id}`);
          return answers.shift() ?? { kind: 'failed', status: 500, reason: 'the application answered 500' };
        },
        async schedule(delivery, delaySeconds) {
          scheduled.push(delivery);
          expect(delaySeconds).toBe(delivery.deliver.attempt === 2 ? 5 : 60);
          return 'queued';
        },
        now: Date.now,
        log: createLogger('test'),
      },
    );
    return { box, store, sent, scheduled };
  }

  it('keeps one record per event and stops at the first 2xx', async () => {
    const { box, store, sent, scheduled } = outbox([
      { kind: 'failed', status: 503, reason: 'busy' },
      { kind: 'accepted', status: 200, answer: null },
    ]);
    const message = mediaResultMessage(MANIFEST);
    expect(await box.publish(message)).toMatchObject({
      outcome: 'retry-scheduled',
      attempt: 1,
      delaySeconds: 5,
    });
    expect(await box.publish(message)).toMatchObject({ outcome: 'delivered', attempt: 1 });
    expect(await box.deliver(scheduled[0]!.deliver)).toEqual({
      outcome: 'already-delivered',
      webhookId: message.id,
    });
    expect(sent).toEqual([`http://a/m ${message.id}`, `http://a/m ${message.id}`]);
    expect([...store.objects.keys()].sort()).toEqual([
      `derived/_outbox/delivered/${message.id}.json`,
      `derived/_outbox/${message.id}.json`,
    ]);
  });

  it('dead-letters after the last scheduled retry', async () => {
    const { box, store } = outbox([]);
    const message = mediaResultMessage(MANIFEST);
    await box.publish(message);
    await box.deliver({ webhookId: message.id, attempt: 2 });
    expect(await box.deliver({ webhookId: message.id, attempt: 3 })).toMatchObject({
      outcome: 'dead-lettered',
      attempts: 3,
    });
    expect(store.objects.has(`derived/_outbox/dead/${message.id}.json`)).toBe(true);
  });

  it('refuses to sign a record that its id does not describe', async () => {
    const { box, sent, store } = outbox([]);
    const genuine = uploadMessage();
    const forged = outboxRecord({ ...genuine, payload: genuine.payload.replace('alice', 'mallory') }, 1);
    expect(await box.deliver({ webhookId: genuine.id, attempt: 2, record: forged })).toMatchObject({
      outcome: 'rejected',
    });
    const renamed = outboxRecord({ ...mediaResultMessage(MANIFEST), id: genuine.id }, 1);
    expect(await box.deliver({ webhookId: genuine.id, attempt: 2, record: renamed })).toMatchObject({
      outcome: 'rejected',
    });
    expect(
      await box.deliver({ webhookId: webhookId('media', { ...OBJECT, key: 'x' }), attempt: 2 }),
    ).toMatchObject({
      outcome: 'rejected',
    });
    expect(sent).toEqual([]);
    expect(store.objects.size).toBe(0);
  });
});
