/**
 * A trigger-path job waiting for the upload's verdict holds no instance: with the upload hook on and no verdict on
 * the object yet, each check ends its invocation at once and queues the next one with FC's `x-fc-async-delay`
 * (the local FC honours it), under a task id of its own per check — so FC retrying a check forks no second chain —
 * until the callback window closes and the application is asked.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CALLBACK_WINDOW_MS, MAX_VERDICT_CHECKS } from '../../functions/media/verdict.js';
import { webhookId } from '../../shared/webhook-events.js';
import { ticketMeta } from '../helpers/upload-tickets.js';
import { MEDIA_FUNCTION, png, startWebhookCloud, type WebhookCloud } from '../helpers/webhook-cloud.js';

let w: WebhookCloud;

beforeAll(async () => {
  w = await startWebhookCloud();
  w.registerMedia({});
});
afterAll(() => w?.close());

describe('a trigger-path job without a verdict', () => {
  it('re-queues itself with a delay instead of sleeping; a retried check queues no second chain', async () => {
    const disconnect = w.connectTrigger();
    try {
      const key = 'uploads/alice/waits.png';
      // No callback at all: only the trigger path sees this upload.
      const uploadedAt = Date.now();
      await w
        .uploader('alice')
        .put(key, await png(16), { mime: 'image/png', ...ticketMeta(await w.ticketFor('alice')) });
      const taskId = await w.taskIdOf(key);
      const first = await vi.waitFor(
        () => {
          const [run] = w.checksOf(taskId);
          if (run?.status !== 'succeeded') throw new Error('check 0 has not finished');
          return run;
        },
        { timeout: 5000, interval: 20 },
      );
      // Check 0 ended at once — not after sleeping through the window — with check 1 queued a second later.
      expect(first.result).toMatchObject({
        outcome: 'verdict-pending',
        recheckTaskId: `${taskId}-v1`,
        delaySeconds: 1,
        queued: 'queued',
      });
      expect(Date.parse(first.finishedAt ?? '') - Date.parse(first.receivedAt)).toBeLessThan(1000);
      // FC running check 0 again (a retry of its invocation, same event) finds check 1 queued already.
      w.cloud.fc.invokeAsync(MEDIA_FUNCTION, first.event, { taskId: `${taskId}-retried` });
      await w.cloud.fc.idle();
      const retried = w.cloud.fc
        .invocations(MEDIA_FUNCTION)
        .find((run) => run.taskId === `${taskId}-retried`);
      expect(retried?.result).toMatchObject({
        outcome: 'verdict-pending',
        recheckTaskId: `${taskId}-v1`,
        queued: 'already-queued',
      });

      const checks = w.checksOf(taskId);
      // One chain: check 0, then checks 1…n, each once; bounded, and spaced by FC's delay rather than by a sleep.
      expect(checks.map((run) => run.taskId)).toEqual([
        taskId,
        ...checks.slice(1).map((_run, n) => `${taskId}-v${n + 1}`),
      ]);
      expect(checks.length).toBeGreaterThan(2);
      expect(checks.length).toBeLessThanOrEqual(MAX_VERDICT_CHECKS + 1);
      for (const run of checks) expect(run.status).toBe('succeeded');
      expect(Date.parse(checks.at(-1)?.finishedAt ?? '') - uploadedAt).toBeGreaterThanOrEqual(
        CALLBACK_WINDOW_MS,
      );
      // Then, the window closed, the application was asked — once — and the job ran.
      expect(checks.at(-1)?.result).toMatchObject({ outcome: 'succeeded' });
      const version = await w.versionOf(key);
      expect(w.deliveriesOf(webhookId('upload', version)).map((d) => d.type)).toEqual(['upload.completed']);
    } finally {
      disconnect();
    }
  }, 20_000);
});
