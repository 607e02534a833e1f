/**
 * Asking the application about a verified upload (`upload.completed`), inside OSS's callback budget. Its verdict:
 * 2xx accepts (its JSON answer is handed to the uploader as `app`), another 4xx refuses the upload, and a timeout or
 * failure is settled by the configured policy — `fail`: no confirmation (503, the client sees 203 and the OSS trigger
 * still processes the object), `accept`: confirm now and queue the event for the media function to deliver later.
 *
 * The hook runs before the media job is queued, so a veto means no job from the callback path; the media function's
 * trigger path waits out OSS's callback window before it processes anything (see functions/media/verdict.ts).
 */

import type { DispatchOutcome } from '../../shared/fc-async-invoke.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { HttpError } from '../../shared/http/edge.js';
import type { Logger } from '../../shared/log.js';
import type { Refusal } from '../../shared/upload-verdict.js';
import { outboxRecord, type WebhookDelivery, type WebhookMessage } from '../../shared/webhook-events.js';
import type { WebhookOutcome } from '../../shared/webhook-send.js';
import type { UploadHookConfig } from './config.js';

/** Kept for what follows the hook: tagging a refusal, or queueing the event and the media job. */
export const AFTER_HOOK_RESERVE_MS = 600;

export interface UploadHookDeps {
  send(message: WebhookMessage, timeoutMs: number): Promise<WebhookOutcome>;
  /** Queue a delivery for the media function (FC async invoke), under the delivery's own task id. */
  enqueue(
    delivery: WebhookDelivery,
    credentials: RoleCredentials | undefined,
    timeoutMs: number,
  ): Promise<DispatchOutcome>;
}

export type HookVerdict =
  | { kind: 'accepted'; app: Record<string, unknown> }
  | { kind: 'refused'; refusal: Refusal }
  /** `accept` policy: the application was not reached; the event is queued and the answer carries `app: null`. */
  | { kind: 'deferred' };

export async function consultApplication(input: {
  hook: UploadHookConfig;
  deps: UploadHookDeps;
  message: WebhookMessage;
  credentials: RoleCredentials | undefined;
  remainingMs: () => number;
  now: () => number;
  log: Logger;
}): Promise<HookVerdict> {
  const { hook, deps, message, log } = input;
  const budget = Math.min(hook.timeoutMs, input.remainingMs() - AFTER_HOOK_RESERVE_MS);
  const started = input.now();
  const outcome: WebhookOutcome =
    budget > 0
      ? await deps.send(message, budget)
      : { kind: 'failed', status: null, reason: 'no time left before the callback deadline' };
  const elapsedMs = input.now() - started;
  const hookLog = log.child({ webhookId: message.id, hookStatus: outcome.status, elapsedMs });

  if (outcome.kind === 'accepted') {
    hookLog.info('the application accepted the upload');
    return { kind: 'accepted', app: outcome.answer ?? {} };
  }
  if (outcome.kind === 'refused') {
    const detail = outcome.message ?? `it answered HTTP ${outcome.status}`;
    return {
      kind: 'refused',
      refusal: {
        status: 403,
        code: 'RefusedByApplication',
        message: `the application refused the upload: ${detail}`,
      },
    };
  }
  if (hook.failurePolicy === 'fail') {
    hookLog.warn({ reason: outcome.reason }, 'upload hook failed; the upload stays unconfirmed');
    throw new HttpError(
      503,
      'ApplicationUnavailable',
      'the application did not confirm the upload in time; the object stays stored and the OSS trigger will process it',
    );
  }
  // `accept`: attempt 1 was this one; the media function makes attempt 2 at once and retries on its schedule.
  const delivery: WebhookDelivery = {
    deliver: { webhookId: message.id, attempt: 2, record: outboxRecord(message, input.now()) },
  };
  try {
    const queued = await deps.enqueue(delivery, input.credentials, input.remainingMs());
    hookLog.warn({ reason: outcome.reason, queued }, 'upload hook failed; accepted, the event is queued');
  } catch (error) {
    hookLog.error(
      { err: error, reason: outcome.reason },
      'upload hook failed and its event could not be queued',
    );
    throw new HttpError(
      503,
      'ApplicationUnavailable',
      'the application could not be told about the upload; the object stays stored and the OSS trigger will process it',
    );
  }
  return { kind: 'deferred' };
}
