/**
 * A misconfigured media worker fails fast, visibly, once: its job ends on the first attempt with a `failed` manifest
 * coded `WorkerMisconfigured` (no FC retry, nothing dead-lettered), and one error log line — JSON, under FC's request
 * id — names the setting, which the manifest the uploader reads does not. A worker is judged by the tools the job's
 * kind runs: an image job never runs ffmpeg, so a worker without one (the image function's case) still serves it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediaHandler } from '../../functions/media/index.js';
import { dispatchMediaJob } from '../../shared/fc-async-invoke.js';
import { useLogDestination } from '../../shared/log.js';
import type { MediaJob } from '../../shared/media-job.js';
import { generateVideo, onePixelPng } from '../helpers/media.js';
import {
  type MediaCloud,
  mediaFunctionEnv,
  startMediaCloud,
  storedManifest,
  uploadForJob,
  workerConfig,
} from '../helpers/media-cloud.js';

let media: MediaCloud;
let clip: Buffer;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  media = await startMediaCloud();
  const dir = await mkdtemp(join(tmpdir(), 'upcall-'));
  await generateVideo(join(dir, 'clip.mp4'), { seconds: 1 });
  clip = await readFile(join(dir, 'clip.mp4'));
  await rm(dir, { recursive: true, force: true });
  // Every logger made from here on (the media functions') writes here; the level comes from each function's env.
  useLogDestination(
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
});
afterAll(() => media.close());

const env = (name: string, overrides: Record<string, string>): NodeJS.ProcessEnv => ({
  ...mediaFunctionEnv(media, { image: name, video: name }),
  UPCALL_LOG_LEVEL: 'info',
  ...overrides,
});

/**
 * Register a media function with `overrides`, dispatch one job to it through FC — an image, or a video when `key`
 * ends in `.mp4` — and wait for FC to settle.
 */
async function runOnWorker(name: string, overrides: Record<string, string>, key: string): Promise<MediaJob> {
  const { cloud } = media;
  cloud.fc.register(name, createMediaHandler(env(name, overrides)), {
    roleArn: cloud.info.roles.media,
    maxAsyncRetryAttempts: 3,
  });
  const job = key.endsWith('.mp4')
    ? await uploadForJob(media, key, clip, 'video/mp4', workerConfig())
    : await uploadForJob(media, key, await onePixelPng(), 'image/png', workerConfig());
  await dispatchMediaJob({
    fc: { endpoint: cloud.info.fc.endpoint, credentials: cloud.info.rootCredentials },
    functionName: name,
    job,
  });
  await cloud.fc.idle();
  return job;
}

async function expectFailedFast(name: string, job: MediaJob, setting: string, value: string) {
  const runs = media.cloud.fc.invocations(name).filter((record) => record.taskId === job.taskId);
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ status: 'succeeded', attempts: 1, result: { outcome: 'failed' } });
  expect(media.cloud.fc.deadLetters(name)).toEqual([]);

  const { manifest, text } = await storedManifest(media, job);
  expect(manifest).toMatchObject({ status: 'failed', attempt: 1, outputs: [] });
  expect(manifest.error?.code).toBe('WorkerMisconfigured');
  expect(text).not.toContain(setting);
  expect(text).not.toContain(value);

  const errors = lines.filter((line) => line.taskId === job.taskId && Number(line.level) >= 50);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ requestId: runs[0]?.requestId, code: 'WorkerMisconfigured' });
  expect(JSON.stringify(errors[0])).toContain(setting);
}

const BROKEN_TOOLS = [
  // A path to nothing, as a mistyped setting gives.
  ['without a working ffmpeg', 'FFMPEG_PATH', '/nonexistent/ffmpeg', 'media-no-ffmpeg'],
  // An executable that exits non-zero whatever it is asked, as a wrong or broken binary would.
  ['with an ffprobe that does not run', 'FFPROBE_PATH', '/bin/false', 'media-bad-ffprobe'],
];

describe('a misconfigured media worker', () => {
  it.each(BROKEN_TOOLS)(
    '%s: a video job fails at once, the log names %s',
    async (_what, setting, value, name) => {
      const job = await runOnWorker(name, { [setting]: value }, `uploads/u1/${name}.mp4`);
      await expectFailedFast(name, job, setting, value);
    },
  );

  it.each(BROKEN_TOOLS)(
    '%s: an image job, which needs no ffmpeg, succeeds on the first attempt (%s unused)',
    async (_what, setting, value, name) => {
      const worker = `${name}-image`;
      const job = await runOnWorker(worker, { [setting]: value }, `uploads/u1/${worker}.png`);
      const runs = media.cloud.fc.invocations(worker).filter((record) => record.taskId === job.taskId);
      expect(runs).toMatchObject([{ status: 'succeeded', attempts: 1, result: { outcome: 'succeeded' } }]);
      const { manifest } = await storedManifest(media, job);
      expect(manifest).toMatchObject({ status: 'succeeded', attempt: 1 });
      expect(manifest.outputs.length).toBeGreaterThan(0);
      expect(lines.filter((line) => line.taskId === job.taskId && Number(line.level) >= 50)).toEqual([]);
    },
  );

  it('with an invalid setting: start-up names it, and the job still ends in a failed manifest', async () => {
    const job = await runOnWorker(
      'media-bad-setting',
      { UPCALL_IMAGE_MAX_PIXELS: 'a-great-many' },
      'uploads/u1/bad-setting.png',
    );
    const startup = lines.find(
      (line) => line.msg === 'start-up failed' && JSON.stringify(line).includes('a-great-many'),
    );
    expect(JSON.stringify(startup)).toContain('UPCALL_IMAGE_MAX_PIXELS');
    await expectFailedFast('media-bad-setting', job, 'UPCALL_IMAGE_MAX_PIXELS', 'a-great-many');
  });

  it('a working worker with the same tools runs the job (the check is not what fails)', async () => {
    const job = await runOnWorker('media-fine', {}, 'uploads/u1/fine.png');
    const { manifest } = await storedManifest(media, job);
    expect(manifest.status).toBe('succeeded');
  });
});
