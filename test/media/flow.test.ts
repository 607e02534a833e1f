/**
 * The media functions as deployed, on the local cloud: the same handler registered in the local FC twice — sized for
 * images and for video in s.yaml — under the media role, the OSS trigger wired to the image function's uploads
 * prefix, and jobs dispatched through FC's async invoke API by the callback's own dispatch and by the trigger path.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCallbackDeps } from '../../functions/callback/app.js';
import { loadCallbackConfig } from '../../functions/callback/config.js';
import { createMediaHandler, type MediaHandlerResult } from '../../functions/media/index.js';
import type { TriggerOutcome } from '../../functions/media/trigger.js';
import { connectOssTrigger, ossTriggerEvent } from '../../local/fc/oss-trigger.js';
import type { InvocationRecord } from '../../local/fc/server.js';
import { planMediaJob } from '../../shared/media-job.js';
import { mediaManifestValidator } from '../../shared/media-manifest.js';
import { animatedGif, generateVideo } from '../helpers/media.js';
import {
  BUCKET,
  mediaFunctionEnv,
  putUpload,
  startMediaCloud,
  uploadForJob,
  workerConfig,
} from '../helpers/media-cloud.js';
import { mediaTrigger } from '../helpers/media-trigger.js';
import { readJson } from '../helpers/oss-clients.js';
import { useForSuite } from '../helpers/suite.js';

const FUNCTIONS = { image: 'upcall-media-image', video: 'upcall-media-video' };
const FUNCTION = FUNCTIONS.image;
const media = useForSuite(startMediaCloud);

const env = () => mediaFunctionEnv(media, FUNCTIONS);

beforeAll(async () => {
  const { cloud } = media;
  // The media role as the local cloud declares it (read uploads and tags, write outputs, dispatch jobs).
  for (const name of Object.values(FUNCTIONS)) {
    cloud.fc.register(name, createMediaHandler(env()), {
      roleArn: cloud.info.roles.media,
      maxAsyncRetryAttempts: 1,
    });
  }
  connectOssTrigger(cloud.oss, cloud.fc, mediaTrigger(FUNCTION, BUCKET));
});

const config = () => workerConfig({ plan: { ...workerConfig().plan } });

/** What a trigger invocation reported for its events. */
function triggerEvents(record: InvocationRecord | undefined): TriggerOutcome[] {
  const result = record?.result as { events?: TriggerOutcome[] } | undefined;
  return result?.events ?? [];
}

/** Runs of a task id on either media function. */
function invocationsOf(taskId: string) {
  return media.cloud.fc.invocations().filter((record) => record.taskId === taskId);
}

async function manifestAt(key: string) {
  const checked = mediaManifestValidator.validate(await readJson(media.oss, key));
  if (!checked.ok) throw new Error('invalid manifest');
  return checked.value;
}

async function clip(): Promise<Buffer> {
  const path = join(media.dataDir, 'flow-clip.mp4');
  await generateVideo(path, { seconds: 1 });
  return readFile(path);
}

describe('media functions on the local cloud', () => {
  it.each([
    ['an image', 'image', 'uploads/u1/anim.gif', animatedGif, 'image/gif', 'image/webp'],
    ['a video', 'video', 'uploads/u1/clip.mp4', clip, 'video/mp4', 'video/mp4'],
  ] as const)(
    'callback and trigger both queue %s on the %s function: one task, processed once',
    async (_what, kind, key, source, contentType, output) => {
      // The upload fires the OSS trigger (on the image function); the callback dispatches the same version meanwhile.
      const job = await uploadForJob(media, key, await source(), contentType, config());
      const callback = createCallbackDeps(loadCallbackConfig(env()), env());
      const fromCallback = await callback.dispatch(job, media.cloud.info.rootCredentials, 10_000);
      await media.cloud.fc.idle();

      // Both paths routed the version by its stored content type to the same function under the same task id.
      const runs = invocationsOf(job.taskId);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({
        functionName: FUNCTIONS[kind],
        status: 'succeeded',
        attempts: 1,
        result: { outcome: 'succeeded' },
      });
      const trigger = media.cloud.fc
        .invocations(FUNCTION)
        .find(
          (record) =>
            (record.result as MediaHandlerResult | undefined)?.outcome === 'trigger' &&
            triggerEvents(record)[0]?.key === key,
        );
      const triggerOutcome = triggerEvents(trigger)[0]?.outcome;
      // Whichever path came second was refused by FC's task-id de-duplication (409).
      expect([fromCallback, triggerOutcome].sort()).toEqual(['already-queued', 'queued']);

      const plan = planMediaJob(job, config().plan);
      const manifest = await manifestAt(plan?.manifestKey ?? '');
      expect(manifest).toMatchObject({ status: 'succeeded', kind });
      expect(manifest.outputs.map((o) => o.contentType)).toContain(output);
      expect(manifest.source).toBe(fromCallback === 'queued' ? 'callback' : 'trigger');

      // A replayed trigger event after FC forgot the task id: the manifest stops it before any dispatch.
      const replay = media.cloud.fc.invokeAsync(FUNCTION, trigger?.event ?? Buffer.alloc(0));
      await media.cloud.fc.idle();
      const replayed = media.cloud.fc.invocations(FUNCTION).find((r) => r.requestId === replay.requestId);
      expect(replayed?.result).toMatchObject({ outcome: 'trigger', events: [{ outcome: 'already-done' }] });
      expect(invocationsOf(job.taskId)).toHaveLength(1);
    },
    60_000,
  );

  it('a corrupt upload ends in a failed manifest, with no FC retry', async () => {
    const job = await uploadForJob(
      media,
      'uploads/u1/broken.png',
      Buffer.from('not a png'),
      'image/png',
      config(),
    );
    await media.cloud.fc.idle();
    const runs = invocationsOf(job.taskId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', attempts: 1, result: { outcome: 'failed' } });
    expect(media.cloud.fc.deadLetters(FUNCTION)).toEqual([]);
    const manifest = await manifestAt(planMediaJob(job, config().plan)?.manifestKey ?? '');
    expect(manifest.error?.code).toBe('UnsupportedMedia');
  });

  it('ignores what is not an upload of media, and rejects a malformed event without a retry', async () => {
    await putUpload(media.oss, 'uploads/u1/notes.txt', Buffer.from('hello'), 'text/plain');
    await media.cloud.fc.idle();
    const handler = createMediaHandler(env());
    const context = { requestId: 'direct-1', credentials: media.cloud.info.rootCredentials };
    // FC's OSS event as the local FC builds it, under any name (a trigger set up with other events sends those).
    const event = (key: string, eventName = 'ObjectCreated:PutObject') => {
      const { events } = ossTriggerEvent(
        {
          eventName: 'ObjectCreated:PutObject',
          bucket: BUCKET,
          key,
          etag: 'D41D8CD98F00B204E9800998ECF8427E',
          size: 5,
          eventTime: new Date().toISOString(),
          requestId: 'x',
          sourceIp: '127.0.0.1',
        },
        { region: 'cn-hangzhou', accountId: '1', ruleId: 'r' },
      );
      return Buffer.from(JSON.stringify({ events: events.map((record) => ({ ...record, eventName })) }));
    };
    const notes = media.cloud.fc
      .invocations(FUNCTION)
      .find((record) => record.event.toString().includes('notes.txt'));
    expect(triggerEvents(notes)[0]).toMatchObject({
      outcome: 'ignored',
      reason: expect.stringMatching(/gets no media job/),
    });
    await expect(handler(event('derived/uploads/u1/anim.gif/x/thumb.webp'), context)).resolves.toMatchObject({
      events: [{ outcome: 'ignored', reason: 'key is outside the uploads prefix' }],
    });
    await expect(
      handler(event('uploads/u1/notes.txt', 'ObjectRemoved:DeleteObject'), context),
    ).resolves.toMatchObject({
      events: [{ outcome: 'ignored' }],
    });
    await expect(handler(event('uploads/u1/gone.jpg'), context)).resolves.toMatchObject({
      events: [{ outcome: 'ignored', reason: 'the object no longer exists' }],
    });
    await expect(handler(Buffer.from('{not json'), context)).resolves.toMatchObject({
      outcome: 'rejected',
      code: 'BadEvent',
    });
    await expect(handler(Buffer.from('{"version":1,"kind":"image"}'), context)).resolves.toMatchObject({
      outcome: 'rejected',
      code: 'BadEvent',
      message: expect.stringMatching(/^not a media job: /),
    });
  });
});
