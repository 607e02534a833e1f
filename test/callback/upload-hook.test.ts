import { describe, expect, it } from 'vitest';
import { type CallbackDeps, createCallbackHandler } from '../../functions/callback/handler.js';
import { AFTER_HOOK_RESERVE_MS } from '../../functions/callback/upload-hook.js';
import type { MediaJob } from '../../shared/media-job.js';
import type { WebhookDelivery, WebhookMessage } from '../../shared/webhook-events.js';
import type { WebhookOutcome } from '../../shared/webhook-send.js';
import { answerValidator, callJson, ETAG, inMemoryCallback } from '../helpers/callback-core.js';
import { userTicket } from '../helpers/upload-tickets.js';
import { SECRET } from '../helpers/webhook-fixtures.js';

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
