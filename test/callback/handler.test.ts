/**
 * The callback core with its dependencies replaced by an in-memory object store and dispatcher: decisions, tagging
 * and deadlines. The same flows run through the local cloud with ali-oss in local-cloud.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { type CallbackDeps, createCallbackHandler } from '../../functions/callback/handler.js';
import type { CallbackObjectStore } from '../../functions/callback/object-store.js';
import type { EdgeRequest } from '../../shared/http/edge.js';
import type { MediaJob } from '../../shared/media-job.js';
import type { StoredObject } from '../../shared/upload-verdict.js';
import { answerValidator, callJson, ETAG, inMemoryCallback } from '../helpers/callback-core.js';
import { userTicket } from '../helpers/upload-tickets.js';

const core = inMemoryCallback();
const config = core.config({ deadlineMs: 1000 });

function world(objects: Record<string, StoredObject>) {
  const tags = new Map<string, Record<string, string>>();
  const queued = new Set<string>();
  const dispatched: MediaJob[] = [];
  let dispatchDelayMs = 0;
  let dispatchFails = false;
  const store: CallbackObjectStore = {
    async head(objectKey) {
      return objects[objectKey] ?? null;
    },
    async tag(objectKey, value) {
      tags.set(objectKey, value);
    },
  };
  const deps: CallbackDeps = {
    objectStore: () => store,
    async dispatch(job) {
      await new Promise((resolve) => setTimeout(resolve, dispatchDelayMs));
      if (dispatchFails) throw new Error('FC down');
      if (queued.has(job.taskId)) return 'already-queued';
      queued.add(job.taskId);
      dispatched.push(job);
      return 'queued';
    },
    now: Date.now,
  };
  const handler = createCallbackHandler(config, deps);
  return {
    tags,
    dispatched,
    slowDispatch: (ms: number) => {
      dispatchDelayMs = ms;
    },
    failDispatch: () => {
      dispatchFails = true;
    },
    call: (request: EdgeRequest) => callJson(handler, request),
  };
}

const ticketFor = (user: string, limits: { maxBytes?: number; contentTypes?: string[]; now?: number } = {}) =>
  userTicket(core.keyring, user, {
    maxBytes: limits.maxBytes ?? 10_000_000,
    contentTypes: limits.contentTypes ?? ['image/*', 'video/*'],
    now: limits.now,
  });

/** A 2048-byte JPEG as OSS stores it, with the ticket its upload carried. */
const jpeg = (ticket: string): StoredObject => ({
  etag: ETAG,
  size: 2048,
  contentType: 'image/jpeg',
  lastModified: null,
  ticket,
});
const aliceTicket = await ticketFor('alice');
const alicesCat = { 'uploads/alice/cat.jpg': jpeg(aliceTicket) };

describe('callback core', () => {
  it('accepts a genuine upload, dispatches one job and answers with the planned outputs', async () => {
    const w = world(alicesCat);
    const { status, body } = await w.call(core.signedRequest({ ticket: aliceTicket }));
    expect(status).toBe(200);
    expect(answerValidator.validate(body).ok).toBe(true);
    expect(body.userId).toBe('alice');
    expect(body.object).toMatchObject({
      key: 'uploads/alice/cat.jpg',
      size: 2048,
      claimedImage: { width: 64, height: 48 },
    });
    expect(body.jobs).toHaveLength(1);
    expect(body.jobs[0].outputs[0].key).toBe(`derived/uploads/alice/cat.jpg/${ETAG}/thumb-320x320.webp`);
    expect(w.dispatched).toHaveLength(1);
    expect(w.dispatched[0]).toMatchObject({ kind: 'image', source: 'callback', taskId: body.jobs[0].taskId });
  });

  it('answers a replay identically and starts nothing new', async () => {
    const w = world(alicesCat);
    const request = core.signedRequest({ ticket: aliceTicket });
    const first = await w.call(request);
    const second = await w.call(request);
    expect(second).toEqual(first);
    expect(w.dispatched).toHaveLength(1);
  });

  it('accepts a non-media upload without jobs', async () => {
    const ticket = await ticketFor('alice', { contentTypes: ['application/pdf'] });
    const w = world({
      'uploads/alice/a.pdf': { ...jpeg(ticket), size: 10, contentType: 'application/pdf' },
    });
    const request = core.signedRequest({
      ticket,
      object: 'uploads/alice/a.pdf',
      size: '10',
      mimeType: 'application/pdf',
      'imageInfo.width': '',
      'imageInfo.height': '',
      'imageInfo.format': '',
    });
    const { status, body } = await w.call(request);
    expect(status).toBe(200);
    expect(body.jobs).toEqual([]);
    expect(w.dispatched).toHaveLength(0);
  });

  it.each([
    ['an inflated size', { size: '4096' }, 'SizeMismatch'],
    ['a wrong content type', { mimeType: 'image/png' }, 'ContentTypeMismatch'],
    ['another ticket than the object’s', { ticket: 'x' }, 'TicketMismatch'],
    ['no ticket', { ticket: '' }, 'TicketMismatch'],
  ])('refuses a callback claiming %s, and changes nothing', async (_name, change, code) => {
    const w = world(alicesCat);
    const { status, body } = await w.call(core.signedRequest({ ticket: aliceTicket, ...change }));
    expect(status).toBe(403);
    expect(body.error.code).toBe(code);
    expect(w.tags.size).toBe(0);
    expect(w.dispatched).toHaveLength(0);
  });

  it.each([
    ['a size above its ticket', () => ticketFor('alice', { maxBytes: 1000 }), 'SizeExceedsTicket'],
    [
      'an expired but authentic ticket',
      () => ticketFor('alice', { now: Date.now() - 7200_000 }),
      'TicketExpired',
    ],
    ['no ticket', async () => '', 'TicketMissing'],
    [
      'a forged ticket',
      async () => 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJtYWxsb3J5In0.AAAA',
      'TicketInvalid',
    ],
  ])('refuses an object stored with %s and tags it rejected', async (_name, issue, code) => {
    const ticket = await issue();
    const w = world({ 'uploads/alice/cat.jpg': jpeg(ticket) });
    const { status, body } = await w.call(core.signedRequest({ ticket }));
    expect(status).toBe(403);
    expect(body.error.code).toBe(code);
    expect(w.tags.get('uploads/alice/cat.jpg')).toEqual({
      'upcall-status': 'rejected',
      'upcall-reason': code,
    });
    expect(w.dispatched).toHaveLength(0);
  });

  it('refuses a callback naming another user’s object without touching it', async () => {
    const bobsDog = jpeg(await ticketFor('bob'));
    const w = world({ ...alicesCat, 'uploads/bob/dog.jpg': bobsDog });
    const request = core.signedRequest({ ticket: aliceTicket, object: 'uploads/bob/dog.jpg' });
    const { status, body } = await w.call(request);
    expect(status).toBe(403);
    expect(body.error.code).toBe('TicketMismatch');
    expect(w.tags.size).toBe(0);
    expect(w.dispatched).toHaveLength(0);
  });

  it('refuses an etag that is not the stored version without tagging', async () => {
    const w = world(alicesCat);
    const request = core.signedRequest({ ticket: aliceTicket, etag: '92EB5FFEE6AE2FEC3AD71C777531578F' });
    const { body } = await w.call(request);
    expect(body.error.code).toBe('EtagMismatch');
    expect(w.tags.size).toBe(0);
  });

  it('refuses a missing object and a foreign bucket', async () => {
    const w = world({});
    expect((await w.call(core.signedRequest({ ticket: aliceTicket }))).body.error.code).toBe(
      'ObjectNotFound',
    );
    const foreign = core.signedRequest({ ticket: aliceTicket, bucket: 'other-bucket' });
    expect((await w.call(foreign)).body.error.code).toBe('BucketMismatch');
  });

  it('refuses bad signatures, bodies and methods with clear codes, before any OSS call', async () => {
    const w = world(alicesCat);
    const good = core.signedRequest({ ticket: aliceTicket });
    const tampered = {
      ...good,
      body: Buffer.from(Buffer.from(good.body).toString().replace('size=2048', 'size=1')),
    };
    expect(await w.call(tampered)).toMatchObject({
      status: 403,
      body: { error: { code: 'InvalidSignature' } },
    });
    const untrusted = {
      ...good,
      headers: {
        ...good.headers,
        'x-oss-pub-key-url': Buffer.from('https://evil.example/k.pem').toString('base64'),
      },
    };
    expect(await w.call(untrusted)).toMatchObject({
      status: 403,
      body: { error: { code: 'UntrustedPublicKeyUrl' } },
    });
    const unsigned = { ...good, headers: {} };
    expect(await w.call(unsigned)).toMatchObject({
      status: 403,
      body: { error: { code: 'MissingSignature' } },
    });
    const wrongTemplate = core.signedRequest({ ticket: 'x' }, { template: 'bucket=${bucket}' });
    expect(await w.call(wrongTemplate)).toMatchObject({
      status: 400,
      body: { error: { code: 'InvalidCallbackBody' } },
    });
    expect(await w.call({ ...good, method: 'GET' })).toMatchObject({
      status: 405,
      body: { error: { code: 'MethodNotAllowed' } },
    });
    const huge = { ...good, body: Buffer.alloc(64 * 1024, 0x61) };
    expect(await w.call(huge)).toMatchObject({ status: 413, body: { error: { code: 'BodyTooLarge' } } });
    expect(w.tags.size).toBe(0);
  });

  it('answers 503 within the deadline when dispatch hangs or fails', async () => {
    const slow = world(alicesCat);
    slow.slowDispatch(5000);
    const started = Date.now();
    const request = core.signedRequest({ ticket: aliceTicket });
    const result = await slow.call(request);
    expect(result.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(config.deadlineMs + 500);
    const down = world(alicesCat);
    down.failDispatch();
    expect((await down.call(request)).body.error.code).toBe('DispatchUnavailable');
  });
});
