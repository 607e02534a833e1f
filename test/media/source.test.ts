/**
 * Source handling of a job: the size limit holds on the wire, whatever HEAD said; failures are permanent or
 * transient by cause — the bytes' doing ends in a manifest, the instance's own trouble is thrown for FC's retry.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MediaJob } from '../../shared/media-job.js';
import { planMediaJob } from '../../shared/media-job.js';
import { fakeTool, generateVideo, testTools } from '../helpers/media.js';
import {
  storedManifest,
  uploadForJob,
  uploadPhoto,
  useMediaJobs,
  workerConfig,
} from '../helpers/media-cloud.js';

const jobs = useMediaJobs('media-source-test');
let clip: Buffer;
beforeAll(async () => {
  const path = join(jobs.scratchDir, 'clip.mp4');
  await generateVideo(path, { width: 64, height: 48, seconds: 1, audio: false });
  clip = await readFile(path);
});

async function manifestExists(job: MediaJob): Promise<boolean> {
  const plan = planMediaJob(job, workerConfig().plan);
  return (await jobs.media.store().head(plan?.manifestKey ?? '')) !== null;
}

describe('download', () => {
  it('stops at the byte limit on the wire when HEAD says the object is small', async () => {
    const job = await uploadPhoto(jobs.media, 'uploads/s1/photo.jpg');
    const real = jobs.media.store();
    const lying = {
      ...real,
      head: async (key: string) => {
        const stored = await real.head(key);
        return stored && { ...stored, size: 10 };
      },
    };
    const limit = 1000;
    const result = await jobs.run(
      job,
      { store: lying },
      workerConfig({ image: { ...workerConfig().image, maxBytes: limit } }),
    );
    expect(result).toMatchObject({ outcome: 'failed' });
    const { manifest } = await storedManifest(jobs.media, job);
    expect(manifest.error).toEqual({
      code: 'InputTooLarge',
      message: `the image is over the limit of ${limit} bytes`,
    });
  });

  it('reads exactly the version named: an overwrite after HEAD fails as SourceChanged', async () => {
    const job = await uploadPhoto(jobs.media, 'uploads/s1/moving.jpg');
    const real = jobs.media.store();
    const racing = {
      ...real,
      openRead: async (key: string, etag: string) => {
        await jobs.media.oss.put(key, Buffer.from('overwritten'));
        return real.openRead(key, etag);
      },
    };
    await jobs.run(job, { store: racing });
    const { manifest } = await storedManifest(jobs.media, job);
    expect(manifest.error?.code).toBe('SourceChanged');
  });
});

/** A job for a fresh upload of the clip, run with one of the real tools replaced by `path`. */
async function withTool(key: string, tool: 'ffmpeg' | 'ffprobe', path: string) {
  const job = await uploadForJob(jobs.media, key, clip, 'video/mp4');
  const real = await testTools();
  return { job, run: () => jobs.run(job, { tools: async () => ({ ...real, [tool]: path }) }) };
}

describe('permanent or transient, by cause', () => {
  it.each([
    ['a tool that cannot start is the deployment’s trouble', 'no-such-ffprobe', null, /could not start/],
    [
      'a full disk is the instance’s trouble',
      'ffprobe-enospc',
      'echo "/tmp/x/video.mp4: No space left on device" >&2; exit 1',
      /No space left/,
    ],
  ] as const)('%s: thrown for a retry, no manifest', async (_what, name, script, error) => {
    // No script: a path with nothing there.
    const ffprobe =
      script === null ? join(jobs.scratchDir, name) : await fakeTool(jobs.scratchDir, name, script);
    const { job, run } = await withTool(`uploads/s2/${name}.mp4`, 'ffprobe', ffprobe);
    await expect(run()).rejects.toThrow(error);
    expect(await manifestExists(job)).toBe(false);
  });

  it('a tool that fails on the bytes ends the job on the first attempt', async () => {
    const refusing = await fakeTool(
      jobs.scratchDir,
      'ffmpeg-refuses',
      'echo "Invalid data found when processing input" >&2; exit 1',
    );
    const { job, run } = await withTool('uploads/s2/c.mp4', 'ffmpeg', refusing);
    expect(await run()).toMatchObject({ outcome: 'failed', attempt: 1 });
    const { manifest } = await storedManifest(jobs.media, job);
    expect(manifest.error).toEqual({
      code: 'TranscodeFailed',
      message: 'ffmpeg could not transcode the video',
    });
  });
});
