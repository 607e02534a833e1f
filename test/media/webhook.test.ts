/**
 * Result hooks on the local cloud: `media.ready` / `media.failed` go through the outbox in OSS and FC's delayed async
 * invoke until the application answers 2xx — one webhook-id per object version whatever the retries and paths — and
 * what never gets through is kept under `_outbox/dead/`.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { DispatchError, dispatchMediaJob, invokeAsync } from '../../shared/fc-async-invoke.js';
import { type MediaJob, planMediaJob } from '../../shared/media-job.js';
import {
  deadLetterValidator,
  outboxKeys,
  outboxRecordValidator,
  webhookId,
} from '../../shared/webhook-events.js';
import { readJson } from '../helpers/oss-clients.js';
import { useForSuite } from '../helpers/suite.js';
import { ticketMeta } from '../helpers/upload-tickets.js';
import { BUCKET, MEDIA_FUNCTION, MEDIA_PLAN, png, startWebhookCloud } from '../helpers/webhook-cloud.js';

const w = useForSuite(startWebhookCloud);

beforeAll(async () => {
  // The media hook only: no upload hook, so trigger-path jobs start at once.
  w.registerMedia({ UPCALL_UPLOAD_HOOK_URL: '', UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS: '0,0,0' });
  w.connectTrigger();
});

/** Upload as the uploader would (the OSS trigger fires) and describe the job the callback would queue. */
async function uploadWithTrigger(key: string, body: Buffer): Promise<MediaJob> {
  await w
    .root()
    .put(key, body, { mime: 'image/png', ...ticketMeta(await w.ticketFor(key.split('/')[1] ?? '')) });
  const { etag } = await w.versionOf(key);
  const plan = planMediaJob({ bucket: BUCKET, key, etag, contentType: 'image/png' }, MEDIA_PLAN);
  if (!plan) throw new Error('no plan');
  return {
    version: 1,
    kind: plan.kind,
    bucket: BUCKET,
    key,
    etag,
    size: body.length,
    contentType: 'image/png',
    source: 'callback',
    taskId: plan.taskId,
    requestedAt: Date.now(),
  };
}

describe('media result hooks', () => {
  it('callback and trigger paths, and an application failing twice: one webhook-id, processed once', async () => {
    const key = 'uploads/bob/twice.png';
    w.script(key, (n) => (n <= 2 ? { status: 503 } : { status: 200, body: { ok: true } }));
    const job = await uploadWithTrigger(key, await png(24));
    const { info } = w.cloud;
    await dispatchMediaJob({
      fc: { endpoint: info.fc.endpoint, credentials: info.rootCredentials },
      functionName: MEDIA_FUNCTION,
      job,
    });
    await w.cloud.fc.idle();

    const runs = w.cloud.fc.invocations(MEDIA_FUNCTION).filter((record) => record.taskId === job.taskId);
    expect(runs).toHaveLength(1);
    const id = webhookId('media', job);
    const mediaIds = new Set(
      w.receiver.deliveries.filter((d) => d.type.startsWith('media.')).map((d) => d.id),
    );
    expect(mediaIds).toEqual(new Set([id]));
    expect(w.deliveriesOf(id).map((d) => d.status)).toEqual([503, 503, 200]);
    const processed = w.receiver.events.filter((e) => e.id === id);
    expect(processed).toHaveLength(1);
    expect(processed[0]?.event).toMatchObject({
      type: 'media.ready',
      data: { key, etag: job.etag, status: 'succeeded' },
    });

    // The outbox holds one record, and the delivered marker names the attempt that got through.
    const keys = outboxKeys('derived/', id);
    expect(outboxRecordValidator.validate(await readJson(w.root(), keys.record)).ok).toBe(true);
    expect(await readJson(w.root(), keys.delivered)).toMatchObject({
      webhookId: id,
      attempt: 3,
      status: 200,
    });
    // Retries were this function again, one FC task per attempt.
    const retries = w.cloud.fc.invocations(MEDIA_FUNCTION).filter((r) => r.taskId?.startsWith(`${id}-`));
    expect(retries.map((r) => r.taskId).sort()).toEqual([`${id}-2`, `${id}-3`]);

    // The job run again (an FC retry, or a replay once FC forgot the task id): no second delivery.
    w.cloud.fc.invokeAsync(MEDIA_FUNCTION, Buffer.from(JSON.stringify(job)));
    await w.cloud.fc.idle();
    expect(w.deliveriesOf(id)).toHaveLength(3);
  });

  it('an application that never answers 2xx: media.failed ends as a dead letter, listable under _outbox/dead/', async () => {
    const key = 'uploads/bob/broken.png';
    w.script(key, () => ({ status: 500, body: { message: 'database down' } }));
    const job = await uploadWithTrigger(key, Buffer.from('not a png at all'));
    await w.cloud.fc.idle();
    const id = webhookId('media', job);
    expect(w.deliveriesOf(id).map((d) => d.type)).toEqual([
      'media.failed',
      'media.failed',
      'media.failed',
      'media.failed',
    ]);
    expect(w.receiver.events.some((e) => e.id === id)).toBe(false);

    const listed = await w.root().listV2({ prefix: 'derived/_outbox/dead/', 'max-keys': '100' }, {});
    expect(listed.objects?.map((o) => o.name)).toEqual([`derived/_outbox/dead/${id}.json`]);
    const dead = deadLetterValidator.validate(await readJson(w.root(), `derived/_outbox/dead/${id}.json`));
    expect(dead.ok).toBe(true);
    if (!dead.ok) return;
    expect(dead.value).toMatchObject({ webhookId: id, type: 'media.failed', attempts: 4 });
    expect(dead.value.lastError).toContain('500');
    expect(JSON.parse(dead.value.payload)).toMatchObject({
      type: 'media.failed',
      data: { error: { code: 'UnsupportedMedia' } },
    });
    // The failure did not fail the job: FC saw every run succeed, nothing reached its dead letters.
    expect(w.cloud.fc.deadLetters(MEDIA_FUNCTION)).toEqual([]);
  });

  it('retries are queued with FC’s x-fc-async-delay (the local FC honours it; 0–3600 s)', async () => {
    const started: number[] = [];
    w.cloud.fc.register('delay-probe', async () => {
      started.push(Date.now());
    });
    const { info } = w.cloud;
    const fc = { endpoint: info.fc.endpoint, credentials: info.rootCredentials };
    const queuedAt = Date.now();
    await invokeAsync({ fc, functionName: 'delay-probe', taskId: 'probe-1', event: {}, delaySeconds: 1 });
    await w.cloud.fc.idle();
    expect(started[0]! - queuedAt).toBeGreaterThanOrEqual(1000);
    const tooLong = await invokeAsync({
      fc,
      functionName: 'delay-probe',
      taskId: 'probe-2',
      event: {},
      delaySeconds: 3601,
    }).catch((error: unknown) => error);
    expect(tooLong).toBeInstanceOf(DispatchError);
    expect((tooLong as DispatchError).status).toBe(400);
  });
});
