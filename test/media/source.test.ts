/**
 * Source handling of a job: the size limit holds on the wire, whatever HEAD said; failures are permanent or
 * transient by cause — the bytes' doing ends in a manifest, the instance's own trouble is thrown for FC's retry.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MediaJob } from '../../shared/media-job.js';
import { planMediaJob } from '../../shared/media-job.js';
import { fakeTool, generateVideo, jpegWithOrientation6, testTools } from '../helpers/media.js';
import { storedManifest, uploadForJob, useMediaJobs, workerConfig } from '../helpers/media-cloud.js';

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
    const job = await uploadForJob(
      jobs.media,
      'uploads/s1/photo.jpg',
      await jpegWithOrientation6(),
      'image/jpeg',
    );
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
    const job = await uploadForJob(
      jobs.media,
      'uploads/s1/moving.jpg',
      await jpegWithOrientation6(),
      'image/jpeg',
    );
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

describe('permanent or transient, by cause', () => {
  it('a tool that cannot start is the deployment’s trouble: thrown for a retry, no manifest', async () => {
    const job = await uploadForJob(jobs.media, 'uploads/s2/a.mp4', clip, 'video/mp4');
    const real = await testTools();
    const missing = join(jobs.scratchDir, 'no-such-ffprobe');
    await expect(jobs.run(job, { tools: async () => ({ ...real, ffprobe: missing }) })).rejects.toThrow(
      /could not start/,
    );
    expect(await manifestExists(job)).toBe(false);
  });

  it('a full disk is the instance’s trouble: thrown for a retry, no manifest', async () => {
    const job = await uploadForJob(jobs.media, 'uploads/s2/b.mp4', clip, 'video/mp4');
    const real = await testTools();
    const full = await fakeTool(
      jobs.scratchDir,
      'ffprobe-enospc',
      'echo "/tmp/x/video.mp4: No space left on device" >&2; exit 1',
    );
    await expect(jobs.run(job, { tools: async () => ({ ...real, ffprobe: full }) })).rejects.toThrow(
      /No space left/,
    );
    expect(await manifestExists(job)).toBe(false);
  });

  it('a tool that fails on the bytes ends the job on the first attempt', async () => {
    const job = await uploadForJob(jobs.media, 'uploads/s2/c.mp4', clip, 'video/mp4');
    const real = await testTools();
    const refusing = await fakeTool(
      jobs.scratchDir,
      'ffmpeg-refuses',
      'echo "Invalid data found when processing input" >&2; exit 1',
    );
    expect(await jobs.run(job, { tools: async () => ({ ...real, ffmpeg: refusing }) })).toMatchObject({
      outcome: 'failed',
      attempt: 1,
    });
    const { manifest } = await storedManifest(jobs.media, job);
    expect(manifest.error).toEqual({
      code: 'TranscodeFailed',
      message: 'ffmpeg could not transcode the video',
    });
  });
});
