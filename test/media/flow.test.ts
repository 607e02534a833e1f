/**
 * The media function as deployed, on the local cloud: FC's handler registered in the local FC under its own role,
 * the OSS trigger wired to the uploads prefix, and jobs dispatched through FC's async invoke API with the real SDK.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { createMediaHandler, type MediaHandlerResult } from '../../functions/media/index.js';
import type { TriggerOutcome } from '../../functions/media/trigger.js';
import { connectOssTrigger, ossTriggerEvent } from '../../local/fc/oss-trigger.js';
import type { InvocationRecord } from '../../local/fc/server.js';
import { dispatchMediaJob } from '../../shared/fc-async-invoke.js';
import { planMediaJob } from '../../shared/media-job.js';
import { mediaManifestValidator } from '../../shared/media-manifest.js';
import { animatedGif } from '../helpers/media.js';
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

const FUNCTION = 'upcall-media';
const media = useForSuite(startMediaCloud);

const env = () => mediaFunctionEnv(media, FUNCTION);

beforeAll(async () => {
  const { cloud } = media;
  // The media role as the local cloud declares it (read uploads and tags, write outputs, dispatch its own jobs).
  cloud.fc.register(FUNCTION, createMediaHandler(env()), {
    roleArn: cloud.info.roles.media,
    maxAsyncRetryAttempts: 1,
  });
  connectOssTrigger(cloud.oss, cloud.fc, mediaTrigger(FUNCTION, BUCKET));
});

const config = () => workerConfig({ plan: { ...workerConfig().plan } });

/** What a trigger invocation reported for its events. */
function triggerEvents(record: InvocationRecord | undefined): TriggerOutcome[] {
  const result = record?.result as { events?: TriggerOutcome[] } | undefined;
  return result?.events ?? [];
}

function invocationsOf(taskId: string) {
  return media.cloud.fc.invocations(FUNCTION).filter((record) => record.taskId === taskId);
}

async function manifestAt(key: string) {
  const checked = mediaManifestValidator.validate(await readJson(media.oss, key));
  if (!checked.ok) throw new Error('invalid manifest');
  return checked.value;
}

describe('media function on the local cloud', () => {
  it('callback and trigger both queue the same upload: processed once', async () => {
    // The upload fires the OSS trigger; the callback function dispatches the same version meanwhile.
    const job = await uploadForJob(media, 'uploads/u1/anim.gif', await animatedGif(), 'image/gif', config());
    const { info } = media.cloud;
    const fromCallback = await dispatchMediaJob({
      fc: { endpoint: info.fc.endpoint, credentials: info.rootCredentials },
      functionName: FUNCTION,
      job,
    });
    await media.cloud.fc.idle();

    const runs = invocationsOf(job.taskId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(runs[0]?.result).toMatchObject({ outcome: 'succeeded' });
    const trigger = media.cloud.fc
      .invocations(FUNCTION)
      .find((record) => (record.result as MediaHandlerResult | undefined)?.outcome === 'trigger');
    const triggerOutcome = triggerEvents(trigger)[0]?.outcome;
    // Whichever path came second was refused by FC's task-id de-duplication (409).
    expect([fromCallback, triggerOutcome].sort()).toEqual(['already-queued', 'queued']);

    const plan = planMediaJob(job, config().plan);
    const manifest = await manifestAt(plan?.manifestKey ?? '');
    expect(manifest).toMatchObject({ status: 'succeeded', input: { format: 'gif', frames: 3 } });
    expect(manifest.outputs.find((o) => o.contentType === 'image/webp')).toMatchObject({ frames: 3 });
    expect(manifest.source).toBe(fromCallback === 'queued' ? 'callback' : 'trigger');

    // A replayed trigger event after FC forgot the task id: the manifest stops it before any dispatch.
    const replay = media.cloud.fc.invokeAsync(FUNCTION, trigger?.event ?? Buffer.alloc(0));
    await media.cloud.fc.idle();
    const replayed = media.cloud.fc.invocations(FUNCTION).find((r) => r.requestId === replay.requestId);
    expect(replayed?.result).toMatchObject({ outcome: 'trigger', events: [{ outcome: 'already-done' }] });
    expect(invocationsOf(job.taskId)).toHaveLength(1);
  });

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
