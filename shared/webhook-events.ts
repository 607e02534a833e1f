/**
 * The events upcall sends to the application (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`; body `{type, timestamp, data}`), and the outbox records that carry them until delivered.
 *
 * Event ids are derived from the object version (bucket, key, etag) and the topic, never random: a replayed callback,
 * a retried media run or a second path to the same version all produce the same `webhook-id`, so the application can
 * de-duplicate on it. The outbox keeps exactly one record per id (created with `x-oss-forbid-overwrite`).
 */
import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { PlannedJobSchema, UploadedObjectSchema } from './callback-contract.js';
import { type MediaManifest, MediaManifestSchema } from './media-manifest.js';
import { compileSchema } from './schema.js';

export const WEBHOOK_EVENT_TYPES = ['upload.completed', 'media.ready', 'media.failed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Which of the application's endpoints an event goes to: the upload hook or the media hook. */
export type WebhookHook = 'upload' | 'media';

const Timestamp = Type.String({ format: 'date-time' });

export const UploadCompletedEventSchema = Type.Object(
  {
    type: Type.Literal('upload.completed'),
    /** When OSS stored the object (its Last-Modified), so every delivery of the event carries the same body. */
    timestamp: Timestamp,
    data: Type.Object(
      { object: UploadedObjectSchema, userId: Type.String(), jobs: Type.Array(PlannedJobSchema) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type UploadCompletedEvent = Static<typeof UploadCompletedEventSchema>;

const mediaEventSchema = <T extends 'media.ready' | 'media.failed'>(type: T) =>
  Type.Object(
    {
      type: Type.Literal(type),
      /** When the media job finished (the manifest's `timings.finishedAt`). */
      timestamp: Timestamp,
      /** The manifest exactly as written to OSS. */
      data: MediaManifestSchema,
    },
    { additionalProperties: false },
  );
export const MediaReadyEventSchema = mediaEventSchema('media.ready');
export const MediaFailedEventSchema = mediaEventSchema('media.failed');

export const WebhookEventSchema = Type.Union([
  UploadCompletedEventSchema,
  MediaReadyEventSchema,
  MediaFailedEventSchema,
]);
export type WebhookEvent = Static<typeof WebhookEventSchema>;
export const webhookEventValidator = compileSchema(WebhookEventSchema);

/** `msg_` and 40 hex digits: a valid FC task id prefix too (retries are queued as `<id>-<attempt>`). */
export const WEBHOOK_ID_PATTERN = '^msg_[0-9a-f]{40}$';

export function webhookId(hook: WebhookHook, object: { bucket: string; key: string; etag: string }): string {
  const digest = createHash('sha256')
    .update(`${hook}\n${object.bucket}\n${object.key}\n${object.etag}`)
    .digest('hex');
  return `msg_${digest.slice(0, 40)}`;
}

/** One event ready to send: the id, and the exact body every delivery of it carries. */
export interface WebhookMessage {
  id: string;
  type: WebhookEventType;
  hook: WebhookHook;
  payload: string;
}

export function uploadCompletedMessage(data: UploadCompletedEvent['data'], storedAt: number): WebhookMessage {
  const event: UploadCompletedEvent = {
    type: 'upload.completed',
    timestamp: new Date(storedAt).toISOString(),
    data,
  };
  return {
    id: webhookId('upload', data.object),
    type: event.type,
    hook: 'upload',
    payload: JSON.stringify(event),
  };
}

export function mediaResultMessage(manifest: MediaManifest): WebhookMessage {
  const type = manifest.status === 'succeeded' ? 'media.ready' : 'media.failed';
  const event = { type, timestamp: new Date(manifest.timings.finishedAt).toISOString(), data: manifest };
  return { id: webhookId('media', manifest), type, hook: 'media', payload: JSON.stringify(event) };
}

/** An event waiting in the outbox (`<derived prefix>_outbox/<id>.json`): written once, never changed. */
export const OutboxRecordSchema = Type.Object(
  {
    version: Type.Literal(1),
    webhookId: Type.String({ pattern: WEBHOOK_ID_PATTERN }),
    hook: Type.Union([Type.Literal('upload'), Type.Literal('media')]),
    type: Type.Union(WEBHOOK_EVENT_TYPES.map((type) => Type.Literal(type))),
    /** The exact JSON body of every delivery. */
    payload: Type.String({ minLength: 2, maxLength: 96 * 1024 }),
    /** Epoch ms. */
    createdAt: Type.Integer(),
  },
  { additionalProperties: false },
);
export type OutboxRecord = Static<typeof OutboxRecordSchema>;
export const outboxRecordValidator = compileSchema(OutboxRecordSchema);

export function outboxRecord(message: WebhookMessage, createdAt: number): OutboxRecord {
  return {
    version: 1,
    webhookId: message.id,
    hook: message.hook,
    type: message.type,
    payload: message.payload,
    createdAt,
  };
}

/**
 * The media function's `deliver` event: attempt `attempt` of an outbox record's delivery. The callback function sends
 * one with the record itself (the upload hook's `accept` policy: it cannot write to the outbox); every later attempt
 * names the record only.
 */
export const WebhookDeliverySchema = Type.Object(
  {
    deliver: Type.Object(
      {
        webhookId: Type.String({ pattern: WEBHOOK_ID_PATTERN }),
        attempt: Type.Integer({ minimum: 1, maximum: 100 }),
        record: Type.Optional(OutboxRecordSchema),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type WebhookDelivery = Static<typeof WebhookDeliverySchema>;
export const webhookDeliveryValidator = compileSchema(WebhookDeliverySchema);

/** FC async task id of a delivery attempt: FC refuses a repeat (409), so each attempt is queued once. */
export const deliveryTaskId = (id: string, attempt: number) => `${id}-${attempt}`;

/** Written to `_outbox/delivered/<id>.json` once the application answered 2xx. */
export const DeliveredMarkerSchema = Type.Object(
  {
    webhookId: Type.String(),
    attempt: Type.Integer({ minimum: 1 }),
    status: Type.Integer(),
    deliveredAt: Type.Integer(),
  },
  { additionalProperties: false },
);
export type DeliveredMarker = Static<typeof DeliveredMarkerSchema>;

/** Written to `_outbox/dead/<id>.json` when every attempt failed: the record, with why, to inspect or re-send. */
export const DeadLetterSchema = Type.Object(
  {
    ...OutboxRecordSchema.properties,
    /** Attempts made (0 when no URL was configured for its hook any more). */
    attempts: Type.Integer({ minimum: 0 }),
    lastError: Type.String(),
    failedAt: Type.Integer(),
  },
  { additionalProperties: false },
);
export type DeadLetter = Static<typeof DeadLetterSchema>;
export const deadLetterValidator = compileSchema(DeadLetterSchema);

/** Where an outbox record and its end states live, under the derived prefix (written by the media function). */
export function outboxKeys(derivedPrefix: string, id: string) {
  const prefix = `${derivedPrefix}_outbox/`;
  return {
    record: `${prefix}${id}.json`,
    delivered: `${prefix}delivered/${id}.json`,
    dead: `${prefix}dead/${id}.json`,
  };
}

/** The folder operators list for undeliverable events. */
export const deadLetterPrefix = (derivedPrefix: string) => `${derivedPrefix}_outbox/dead/`;
