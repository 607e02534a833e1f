import { describe, expect, it } from 'vitest';
import { createOutbox } from '../../functions/media/outbox.js';
import type { MediaStore } from '../../functions/media/store.js';
import { createLogger } from '../../shared/log.js';
import {
  mediaResultMessage,
  outboxRecord,
  type WebhookDelivery,
  webhookId,
} from '../../shared/webhook-events.js';
import type { WebhookOutcome } from '../../shared/webhook-send.js';
import { MANIFEST, OBJECT, SECRET, uploadMessage } from '../helpers/webhook-fixtures.js';

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
