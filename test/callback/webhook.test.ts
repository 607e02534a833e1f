/**
 * The upload hook end to end: ali-oss → local OSS → callback function → the application (the example receiver,
 * answers scripted per key) → the answer OSS hands the uploader; and the media function delivering what the callback
 * deferred. Signatures are checked by the receiver with the standardwebhooks library on every request.
 */
import type OSS from 'ali-oss';
import { beforeAll, describe, expect, it } from 'vitest';
import { planMediaJob } from '../../shared/media-job.js';
import type { MediaManifest } from '../../shared/media-manifest.js';
import { deadLetterPrefix, deadLetterValidator, webhookId } from '../../shared/webhook-events.js';
import { readJson } from '../helpers/oss-clients.js';
import { useForSuite } from '../helpers/suite.js';
import { ticketedUpload, ticketMeta } from '../helpers/upload-tickets.js';
import {
  MEDIA_FUNCTION,
  MEDIA_PLAN,
  png,
  startWebhookCloud,
  type WebhookCloud,
} from '../helpers/webhook-cloud.js';

const w = useForSuite(startWebhookCloud);
let failPolicy: Awaited<ReturnType<WebhookCloud['startCallback']>>;
let acceptPolicy: Awaited<ReturnType<WebhookCloud['startCallback']>>;
/** Waits for an application slower than the others' timeout: its answer comes while a trigger-path job waits. */
let slowHook: Awaited<ReturnType<WebhookCloud['startCallback']>>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  w.registerMedia({});
  failPolicy = await w.startCallback({ UPCALL_UPLOAD_HOOK_TIMEOUT_MS: '800' });
  acceptPolicy = await w.startCallback({
    UPCALL_UPLOAD_HOOK_TIMEOUT_MS: '800',
    UPCALL_UPLOAD_HOOK_FAILURE_POLICY: 'accept',
  });
  slowHook = await w.startCallback({ UPCALL_UPLOAD_HOOK_TIMEOUT_MS: '3000' });
});

async function upload(key: string, url: string) {
  const started = Date.now();
  const outcome = await w
    .uploader('alice')
    .put(key, await png(16), {
      headers: { 'Content-Type': 'image/png' },
      ...ticketedUpload(await w.ticketFor('alice'), url),
    } as OSS.PutObjectOptions)
    .then(
      (result) => ({
        ok: true as const,
        data: result.data as Record<string, unknown>,
        status: result.res.status,
      }),
      (error: { status?: number; code?: string; message?: string }) => ({ ok: false as const, error }),
    );
  return { ...outcome, elapsedMs: Date.now() - started };
}

const jobsFor = (taskId: string) =>
  w.cloud.fc.invocations(MEDIA_FUNCTION).filter((record) => record.taskId === taskId);

describe('the upload hook', () => {
  it('hands the application a signed upload.completed and the uploader its answer as result.data.app', async () => {
    const key = 'uploads/alice/enriched.png';
    w.script(key, (_n, event) =>
      event.type === 'upload.completed'
        ? { status: 201, body: { recordId: 'rec-42', album: 'holidays' } }
        : { status: 204 },
    );
    const result = await upload(key, failPolicy.url);
    if (!result.ok) throw new Error(`upload failed: ${result.error.message}`);
    expect(result.data).toMatchObject({
      status: 'accepted',
      userId: 'alice',
      app: { recordId: 'rec-42', album: 'holidays' },
    });

    const uploadEvent = w.receiver.events.find(
      (e) => e.event.type === 'upload.completed' && e.event.data.object.key === key,
    );
    expect(uploadEvent?.id).toBe(webhookId('upload', await w.versionOf(key)));
    // The event is what the uploader was told, minus upcall's status and the application's own answer.
    const { status: _status, app: _app, ...told } = result.data;
    expect(uploadEvent?.event.data).toEqual(told);
    expect(w.receiver.refused).toBe(0);
    // The verdict is on the object, so a job the OSS trigger queued first need not wait out the callback window.
    expect((await w.root().getObjectTagging(key)).tag).toEqual({ 'upcall-status': 'accepted' });

    // Hook first, then the job: one job, and its result follows as media.ready.
    await w.cloud.fc.idle();
    expect(jobsFor(await w.taskIdOf(key))).toHaveLength(1);
    const ready = w.receiver.events.find((e) => e.event.type === 'media.ready' && e.event.data.key === key);
    expect(ready?.id).toBe(webhookId('media', await w.versionOf(key)));
  });

  it('a 4xx from the application refuses the upload: 203, tagged rejected, no media job — and again on a replay', async () => {
    const key = 'uploads/alice/vetoed.png';
    w.script(key, () => ({ status: 422, body: { message: 'over the album quota' } }));
    const before = failPolicy.captured.length;
    const result = await upload(key, failPolicy.url);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ status: 203, code: 'CallbackFailed' });
    expect(result.error.message).toContain('403');
    expect((await w.root().head(key)).status).toBe(200);
    expect((await w.root().getObjectTagging(key)).tag).toEqual({
      'upcall-status': 'rejected',
      'upcall-reason': 'RefusedByApplication',
    });

    // OSS's callback replayed byte for byte: the same event id, the same decision, still no job.
    const original = failPolicy.captured[before];
    if (!original) throw new Error('the callback was not captured');
    const replay = await fetch(`${new URL(failPolicy.url).origin}${original.path}`, {
      method: 'POST',
      headers: {
        authorization: original.headers.authorization ?? '',
        'x-oss-pub-key-url': original.headers['x-oss-pub-key-url'] ?? '',
        'content-type': original.headers['content-type'] ?? '',
      },
      body: original.body,
    });
    expect(replay.status).toBe(403);
    expect(((await replay.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'RefusedByApplication',
      message: expect.stringContaining('over the album quota'),
    });
    const id = webhookId('upload', await w.versionOf(key));
    expect(w.deliveriesOf(id).map((d) => d.status)).toEqual([422, 422]);
    await w.cloud.fc.idle();
    expect(jobsFor(await w.taskIdOf(key))).toEqual([]);
    expect(w.receiver.events.some((e) => e.id === id)).toBe(false);
  });

  it('fail policy: a slow application leaves the upload unconfirmed (203) well inside OSS’s 5 s, without a job', async () => {
    const key = 'uploads/alice/slow-fail.png';
    w.script(key, async () => {
      await sleep(2500);
      return { status: 200, body: {} };
    });
    const result = await upload(key, failPolicy.url);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ status: 203 });
    // The callback's own 503, not OSS giving up on it.
    expect(result.error.message).toContain('503');
    expect(result.elapsedMs).toBeLessThan(3000);
    expect((await w.root().head(key)).status).toBe(200);
    expect((await w.root().getObjectTagging(key)).tag).toEqual({});
    await w.cloud.fc.idle();
    // No job from the callback: the OSS trigger (not connected here) is what processes such an upload.
    expect(jobsFor(await w.taskIdOf(key))).toEqual([]);
  });

  it('accept policy: a slow application is told later, once; the upload is accepted with app: null', async () => {
    const key = 'uploads/alice/slow-accept.png';
    w.script(key, async (n, event) => {
      if (event.type !== 'upload.completed') return { status: 204 };
      if (n === 1) await sleep(1500);
      return { status: 200, body: { recordId: 'late' } };
    });
    const result = await upload(key, acceptPolicy.url);
    if (!result.ok) throw new Error(`upload failed: ${result.error.message}`);
    expect(result.elapsedMs).toBeLessThan(3000);
    expect(result.data).toMatchObject({ status: 'accepted', app: null });
    await w.cloud.fc.idle();
    const id = webhookId('upload', await w.versionOf(key));
    // Delivered again by the media function (attempt 2) with the same id; processed once.
    expect(w.deliveriesOf(id).length).toBeGreaterThanOrEqual(2);
    expect(w.receiver.events.filter((e) => e.id === id)).toHaveLength(1);
    expect(jobsFor(await w.taskIdOf(key))).toHaveLength(1);
    const delivered = await w.root().head(`derived/_outbox/delivered/${id}.json`);
    expect(delivered.status).toBe(200);
  });

  it('accept policy: an application that stays down ends with the event kept under _outbox/dead/', async () => {
    const key = 'uploads/alice/down.png';
    w.script(key, (_n, event) => (event.type === 'upload.completed' ? { status: 503 } : { status: 204 }));
    const result = await upload(key, acceptPolicy.url);
    if (!result.ok) throw new Error(`upload failed: ${result.error.message}`);
    expect(result.data).toMatchObject({ app: null });
    await w.cloud.fc.idle();
    const id = webhookId('upload', await w.versionOf(key));
    // 1 synchronous attempt + 2 from the outbox (schedule "0,0"): 3 deliveries, none processed.
    expect(w.deliveriesOf(id).map((d) => d.status)).toEqual([503, 503, 503]);
    const listed = await w.root().listV2({ prefix: deadLetterPrefix('derived/'), 'max-keys': '100' }, {});
    expect(listed.objects?.map((o) => o.name)).toContain(`derived/_outbox/dead/${id}.json`);
    const dead = deadLetterValidator.validate(await readJson(w.root(), `derived/_outbox/dead/${id}.json`));
    expect(dead.ok).toBe(true);
    if (dead.ok) expect(dead.value).toMatchObject({ webhookId: id, type: 'upload.completed', attempts: 3 });
  });

  it('a veto arriving while the trigger-path job waits is honoured: the job re-checks until it is on the object', async () => {
    const disconnect = w.connectTrigger();
    try {
      const key = 'uploads/alice/vetoed-trigger.png';
      // The application takes its time, so the OSS trigger's job (queued at once) runs before the verdict exists.
      w.script(key, async () => {
        await sleep(1500);
        return { status: 403, body: { message: 'no' } };
      });
      const result = await upload(key, slowHook.url);
      expect(result.ok).toBe(false);
      await w.cloud.fc.idle();
      const checks = w.checksOf(await w.taskIdOf(key));
      expect(checks[0]?.result).toMatchObject({ outcome: 'verdict-pending' });
      expect(checks.at(-1)?.result).toMatchObject({ outcome: 'failed' });
      const manifestKey =
        planMediaJob({ ...(await w.versionOf(key)), contentType: 'image/png' }, MEDIA_PLAN)?.manifestKey ??
        '';
      const manifest = await readJson<MediaManifest>(w.root(), manifestKey);
      expect(manifest).toMatchObject({
        status: 'failed',
        source: 'trigger',
        error: { code: 'UploadRejected' },
      });
      expect(manifest.outputs).toEqual([]);
      // Asked once, by the callback: the job took the callback's answer instead of asking again at the window's end.
      const version = await w.versionOf(key);
      expect(w.deliveriesOf(webhookId('upload', version)).map((d) => d.status)).toEqual([403]);
      // The application vetoed it and never hears about it again.
      expect(w.deliveriesOf(webhookId('media', version))).toEqual([]);
    } finally {
      disconnect();
    }
  }, 20_000);

  it.each([
    ['refuses', { status: 422, body: { message: 'not this one' } }, 'failed', 'rejected'],
    ['accepts', { status: 200, body: {} }, 'succeeded', 'accepted'],
  ] as const)(
    'an upload sent without any callback is put to the application by the trigger path, which %s it',
    async (_verb, answer, outcome, status) => {
      const disconnect = w.connectTrigger();
      try {
        const key = `uploads/alice/no-callback-${status}.png`;
        w.script(key, () => answer);
        await w
          .uploader('alice')
          .put(key, await png(16), { mime: 'image/png', ...ticketMeta(await w.ticketFor('alice')) });
        await w.cloud.fc.idle();
        const version = await w.versionOf(key);
        const asked = w.receiver.deliveries.filter((d) => d.id === webhookId('upload', version));
        expect(asked.map((d) => d.type)).toEqual(['upload.completed']);
        // The job looked for a callback's verdict until the window closed, then asked the application itself.
        const checks = w.checksOf(await w.taskIdOf(key));
        expect(checks[0]?.result).toMatchObject({ outcome: 'verdict-pending' });
        expect(checks.at(-1)?.result).toMatchObject({ outcome });
        expect((await w.root().getObjectTagging(key)).tag['upcall-status']).toBe(status);
      } finally {
        disconnect();
      }
    },
    20_000,
  );
});
