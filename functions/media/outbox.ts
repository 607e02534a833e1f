/**
 * The webhook outbox: events for the application, kept in OSS until it answers 2xx. One record per event id at
 * `<derived>_outbox/<id>.json`, created with `x-oss-forbid-overwrite` (so once per object version) and never changed;
 * its end state is a second object beside it — `delivered/<id>.json` on the first 2xx, or `dead/<id>.json` (the
 * record plus the last error) when every attempt failed. The media role may read and write the derived prefix but
 * not delete, so "moving" to dead/ is that copy; a record with neither marker is pending.
 *
 * Retries ride on FC's async invoke: a failed attempt n queues attempt n+1 for the image media function (an HTTP
 * request needs no video-sized instance; both media functions run the same code) with FC's `x-fc-async-delay` (the
 * schedule's n-th delay, ≤ 3600 s) under the task id `<id>-<n+1>`, which FC accepts once — so two runs failing the
 * same attempt queue one retry. If even queueing fails, the caller throws and FC's own retry of
 * the invocation repeats the attempt. Every attempt sends the record's exact payload under the same `webhook-id`.
 */

import type { DispatchOutcome } from '../../shared/fc-async-invoke.js';
import type { Logger } from '../../shared/log.js';
import { parseStored } from '../../shared/schema.js';
import {
  type DeadLetter,
  type DeliveredMarker,
  type OutboxRecord,
  outboxKeys,
  outboxRecord,
  outboxRecordValidator,
  type WebhookDelivery,
  type WebhookMessage,
  webhookEventValidator,
  webhookId,
} from '../../shared/webhook-events.js';
import type { WebhookOutcome, WebhookTarget } from '../../shared/webhook-send.js';
import type { MediaWebhookConfig } from './config.js';
import type { MediaStore } from './store.js';

export interface OutboxDeps {
  store: MediaStore;
  send(target: WebhookTarget, message: WebhookMessage, timeoutMs: number): Promise<WebhookOutcome>;
  /** Queue a later attempt (FC async invoke of the image media function, delayed). */
  schedule(delivery: WebhookDelivery, delaySeconds: number): Promise<DispatchOutcome>;
  now(): number;
  log: Logger;
}

export type DeliveryResult =
  | { outcome: 'delivered'; webhookId: string; attempt: number; status: number }
  /** An earlier attempt already got a 2xx, or gave up: nothing to do. */
  | { outcome: 'already-delivered' | 'already-dead'; webhookId: string }
  | { outcome: 'retry-scheduled'; webhookId: string; attempt: number; delaySeconds: number; reason: string }
  | { outcome: 'dead-lettered'; webhookId: string; attempts: number; reason: string }
  /** The delivery names no record, or carries one that is not what its id says: retrying cannot help. */
  | { outcome: 'rejected'; webhookId: string; reason: string };

const JSON_TYPE = 'application/json';

/** A record must hold a valid event whose object version gives exactly its id (no signing of arbitrary text). */
function recordProblem(record: OutboxRecord): string | null {
  let event: unknown;
  try {
    event = JSON.parse(record.payload);
  } catch {
    return 'its payload is not JSON';
  }
  const checked = webhookEventValidator.validate(event);
  if (!checked.ok) return 'its payload is not a webhook event';
  const { value } = checked;
  if (value.type !== record.type) return `its payload is a ${value.type} event, not ${record.type}`;
  const expected =
    value.type === 'upload.completed'
      ? webhookId('upload', value.data.object)
      : webhookId('media', value.data);
  if (record.hook !== (value.type === 'upload.completed' ? 'upload' : 'media'))
    return 'its hook does not match';
  return expected === record.webhookId ? null : 'its id does not match its object version';
}

export function createOutbox(
  config: { derivedPrefix: string; webhooks: MediaWebhookConfig },
  deps: OutboxDeps,
) {
  const { webhooks } = config;
  const maxAttempts = 1 + webhooks.retryDelaysSeconds.length;
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));

  async function deadLetter(record: OutboxRecord, attempts: number, reason: string): Promise<DeliveryResult> {
    const keys = outboxKeys(config.derivedPrefix, record.webhookId);
    const dead: DeadLetter = { ...record, attempts, lastError: reason, failedAt: deps.now() };
    await deps.store.create(keys.dead, json(dead), { contentType: JSON_TYPE });
    deps.log.error(
      { webhookId: record.webhookId, type: record.type, attempts, reason, deadLetterKey: keys.dead },
      'webhook undeliverable; kept as a dead letter',
    );
    return { outcome: 'dead-lettered', webhookId: record.webhookId, attempts, reason };
  }

  async function attempt(record: OutboxRecord, attemptNumber: number): Promise<DeliveryResult> {
    const { webhookId: id } = record;
    const keys = outboxKeys(config.derivedPrefix, id);
    const log = deps.log.child({ webhookId: id, type: record.type, attempt: attemptNumber });
    if (await deps.store.head(keys.delivered)) return { outcome: 'already-delivered', webhookId: id };
    if (await deps.store.head(keys.dead)) return { outcome: 'already-dead', webhookId: id };
    const url = webhooks.urls[record.hook];
    if (!url)
      return deadLetter(record, attemptNumber - 1, `no URL is configured for the ${record.hook} hook`);

    const message: WebhookMessage = { id, type: record.type, hook: record.hook, payload: record.payload };
    const outcome = await deps.send({ url, secret: webhooks.secret }, message, webhooks.timeoutMs);
    if (outcome.kind === 'accepted') {
      const marker: DeliveredMarker = {
        webhookId: id,
        attempt: attemptNumber,
        status: outcome.status,
        deliveredAt: deps.now(),
      };
      await deps.store.create(keys.delivered, json(marker), { contentType: JSON_TYPE });
      log.info({ status: outcome.status }, 'webhook delivered');
      return { outcome: 'delivered', webhookId: id, attempt: attemptNumber, status: outcome.status };
    }
    const reason =
      outcome.kind === 'refused'
        ? `the application answered ${outcome.status}${outcome.message ? `: ${outcome.message}` : ''}`
        : outcome.reason;
    if (attemptNumber >= maxAttempts) return deadLetter(record, attemptNumber, reason);
    const delaySeconds = webhooks.retryDelaysSeconds[attemptNumber - 1] ?? 0;
    const queued = await deps.schedule(
      { deliver: { webhookId: id, attempt: attemptNumber + 1 } },
      delaySeconds,
    );
    log.warn({ reason, delaySeconds, queued }, 'webhook not delivered; retry queued');
    return { outcome: 'retry-scheduled', webhookId: id, attempt: attemptNumber, delaySeconds, reason };
  }

  return {
    /** Record an event once (a second call finds the first record), then make attempt 1. */
    async publish(message: WebhookMessage): Promise<DeliveryResult> {
      const keys = outboxKeys(config.derivedPrefix, message.id);
      const record = outboxRecord(message, deps.now());
      const created = await deps.store.create(keys.record, json(record), { contentType: JSON_TYPE });
      const stored = created
        ? record
        : parseStored(outboxRecordValidator, (await deps.store.read(keys.record)) ?? Buffer.alloc(0));
      return attempt(stored ?? record, 1);
    },

    /** One queued attempt: from the callback (with the record, to be written here) or a retry (by id). */
    async deliver(delivery: WebhookDelivery['deliver']): Promise<DeliveryResult> {
      const { webhookId: id } = delivery;
      const keys = outboxKeys(config.derivedPrefix, id);
      let record: OutboxRecord | null;
      if (delivery.record) {
        const problem =
          delivery.record.webhookId === id ? recordProblem(delivery.record) : 'it names another webhook id';
        if (problem) {
          deps.log.error({ webhookId: id, problem }, 'refusing a delivery whose record does not hold up');
          return { outcome: 'rejected', webhookId: id, reason: problem };
        }
        record = delivery.record;
        await deps.store.create(keys.record, json(record), { contentType: JSON_TYPE });
      } else {
        const body = await deps.store.read(keys.record);
        record = body ? parseStored(outboxRecordValidator, body) : null;
        if (!record) {
          deps.log.error(
            { webhookId: id, recordKey: keys.record },
            'no valid outbox record for this delivery',
          );
          return { outcome: 'rejected', webhookId: id, reason: `no valid outbox record at ${keys.record}` };
        }
      }
      return attempt(record, delivery.attempt);
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
