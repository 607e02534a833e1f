/**
 * The media function's events, decoded in one place. Three kinds arrive as a Buffer of JSON: a media job (`MediaJob`,
 * from the callback function or the image function's trigger path), an OSS trigger event (`{"events":[…]}`, FC's
 * format), and a webhook delivery (`{"deliver":…}`, queued by outbox.ts). The kinds are told apart by their one
 * distinguishing top-level field, then validated against their schema; anything else is `invalid`, with the reason.
 */
import { type MediaJob, mediaJobValidator } from '../../shared/media-job.js';
import { formatIssues } from '../../shared/schema.js';
import { type WebhookDelivery, webhookDeliveryValidator } from '../../shared/webhook-events.js';
import { type OssTriggerEvent, ossTriggerEventValidator } from './trigger.js';

export type MediaEvent =
  | { kind: 'job'; job: MediaJob }
  | { kind: 'trigger'; event: OssTriggerEvent }
  | { kind: 'deliver'; delivery: WebhookDelivery['deliver'] }
  | { kind: 'invalid'; message: string };

function parse(event: unknown): unknown {
  const text = Buffer.isBuffer(event)
    ? event.toString('utf8')
    : typeof event === 'string'
      ? event
      : undefined;
  return text === undefined ? event : JSON.parse(text);
}

export function decodeMediaEvent(event: unknown): MediaEvent {
  let payload: unknown;
  try {
    payload = parse(event);
  } catch {
    return { kind: 'invalid', message: 'the event is not JSON' };
  }
  const fields = payload !== null && typeof payload === 'object' ? payload : {};
  if ('deliver' in fields) {
    const checked = webhookDeliveryValidator.validate(payload);
    return checked.ok
      ? { kind: 'deliver', delivery: checked.value.deliver }
      : { kind: 'invalid', message: `not a webhook delivery: ${formatIssues(checked.issues)}` };
  }
  if ('events' in fields) {
    const checked = ossTriggerEventValidator.validate(payload);
    return checked.ok
      ? { kind: 'trigger', event: checked.value }
      : { kind: 'invalid', message: `not an OSS trigger event: ${formatIssues(checked.issues)}` };
  }
  const checked = mediaJobValidator.validate(payload);
  return checked.ok
    ? { kind: 'job', job: checked.value }
    : { kind: 'invalid', message: `not a media job: ${formatIssues(checked.issues)}` };
}
