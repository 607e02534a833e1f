/** The media job core against the local OSS, through the real ali-oss client: outputs, manifest, exactly once. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaWorkerConfig } from '../../functions/media/config.js';
import {
  JobHeldElsewhere,
  type JobResult,
  MAX_ATTEMPTS,
  type MediaWorkerDeps,
  runMediaJob,
  WATCH_INTERVAL_MS,
} from '../../functions/media/job.js';
import { acquireLease, leaseKey } from '../../functions/media/lease.js';
import type { MediaStore } from '../../functions/media/store.js';
import { createLogger } from '../../shared/log.js';
import type { MediaJob } from '../../shared/media-job.js';
import { planMediaJob } from '../../shared/media-job.js';
import {
  type MediaManifest,
  mediaManifestValidator,
  SOURCE_ETAG_HEADER,
} from '../../shared/media-manifest.js';
import {
  ffprobe,
  generateVideo,
  jpegWithOrientation6,
  pngBomb,
  testTools,
  topLevelBoxes,
  truncatedJpeg,
} from '../helpers/media.js';
import {
  type MediaCloud,
  startMediaCloud,
  uploadForJob,
  uploadPhoto,
  workerConfig,
} from '../helpers/media-cloud.js';

let media: MediaCloud;
let scratchDir: string;
beforeAll(async () => {
  media = await startMediaCloud();
  scratchDir = await mkdtemp(join(tmpdir(), 'upcall-'));
});
afterAll(async () => {
  await media.close();
  await rm(scratchDir, { recursive: true, force: true });
});

const log = createLogger('media-test');
let requests = 0;

function deps(overrides: Partial<MediaWorkerDeps> = {}): MediaWorkerDeps {
  return { store: media.store(), tools: testTools, now: Date.now, log, scratchDir, ...overrides };
}

function run(
  job: MediaJob,
  config = workerConfig(),
  overrides: Partial<MediaWorkerDeps> = {},
  requestId?: string,
) {
  requests += 1;
  return runMediaJob(job, { requestId: requestId ?? `req-${requests}` }, config, deps(overrides));
}

function planOf(job: MediaJob, config: MediaWorkerConfig = workerConfig()) {
  const plan = planMediaJob(job, config.plan);
  if (!plan) throw new Error('no plan');
  return plan;
}

async function manifestOf(job: MediaJob): Promise<MediaManifest> {
  const result = await media.oss.get(planOf(job).manifestKey);
  expect((result.res.headers as Record<string, string>)['content-type']).toMatch(/^application\/json/);
  const checked = mediaManifestValidator.validate(JSON.parse(Buffer.from(result.content).toString('utf8')));
  if (!checked.ok) throw new Error(`invalid manifest: ${JSON.stringify(checked.issues)}`);
  return checked.value;
}

/** A lease taken through the lease's own interface, as a run that then dies would leave it. */
function takeLease(store: MediaStore, job: MediaJob, holder: string, expiresAt: number, now = Date.now) {
  return acquireLease(store, {
    prefix: planOf(job).outputPrefix,
    taskId: job.taskId,
    holder,
    expiresAt,
    maxAttempts: MAX_ATTEMPTS,
    now,
  });
}

async function exists(key: string): Promise<boolean> {
  return (await media.store().head(key)) !== null;
}

/** Every output the manifest lists is in OSS with its bytes, type, caching and source etag. */
async function expectOutputsStored(manifest: MediaManifest) {
  for (const output of manifest.outputs) {
    const result = await media.oss.get(output.key);
    const headers = result.res.headers as Record<string, string>;
    expect(headers['content-type']).toBe(output.contentType);
    expect(headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(headers[SOURCE_ETAG_HEADER]).toBe(manifest.etag);
    expect(Buffer.from(result.content).length).toBe(output.bytes);
    if (output.contentType.startsWith('image/')) {
      const meta = await sharp(Buffer.from(result.content)).metadata();
      expect([meta.width, meta.height]).toEqual([output.width, output.height]);
    }
  }
}

describe('media job (local OSS)', () => {
  it('renders an image version into outputs and a manifest, read back with ali-oss', async () => {
    const job = await uploadPhoto(media, 'uploads/u1/photo.jpg');
    const result = await run(job);
    expect(result).toMatchObject({ outcome: 'succeeded', taskId: job.taskId, attempt: 1 });
    const manifest = await manifestOf(job);
    expect(manifest).toMatchObject({
      status: 'succeeded',
      key: job.key,
      etag: job.etag,
      kind: 'image',
      source: 'callback',
      attempt: 1,
      input: { format: 'jpeg', width: 200, height: 400, frames: 1 },
    });
    expect(manifest.error).toBeUndefined();
    expect(manifest.outputs.map((o) => [o.key, o.width, o.height])).toEqual([
      [`derived/uploads/u1/photo.jpg/${job.etag}/thumb-64x64.webp`, 32, 64],
      [`derived/uploads/u1/photo.jpg/${job.etag}/thumb-64x64.jpg`, 32, 64],
      [`derived/uploads/u1/photo.jpg/${job.etag}/thumb-32x32.webp`, 16, 32],
      [`derived/uploads/u1/photo.jpg/${job.etag}/thumb-32x32.jpg`, 16, 32],
    ]);
    // The callback answers clients with the plan's keys: the manifest lists exactly those.
    expect(manifest.outputs.map((o) => o.key)).toEqual(planOf(job).outputs.map((o) => o.key));
    expect(Object.keys(manifest.timings.steps)).toEqual(
      expect.arrayContaining(['head', 'download', 'render', 'upload']),
    );
    expect(manifest.timings.finishedAt).toBeGreaterThanOrEqual(manifest.timings.startedAt);
    await expectOutputsStored(manifest);
  });

  it('never processes an upload the callback refused, and accounts for it in a failed manifest', async () => {
    const job = await uploadPhoto(media, 'uploads/u1/refused.jpg');
    const tagging = media.oss as typeof media.oss & {
      putObjectTagging(name: string, tag: Record<string, string>): Promise<unknown>;
    };
    await tagging.putObjectTagging(job.key, { 'upcall-status': 'rejected', 'upcall-reason': 'SizeMismatch' });
    expect(await run(job)).toMatchObject({ outcome: 'failed', taskId: job.taskId });
    const manifest = await manifestOf(job);
    expect(manifest).toMatchObject({ status: 'failed', outputs: [], error: { code: 'UploadRejected' } });
    expect(manifest.error?.message).toContain('SizeMismatch');
    for (const output of planOf(job).outputs) expect(await exists(output.key)).toBe(false);
    expect(await exists(job.key)).toBe(true);
  });

  it('processes a version once: a repeat is already done, a concurrent duplicate watches it finish', async () => {
    const job = await uploadPhoto(media, 'uploads/u1/twice.png');
    const [first, second] = await Promise.all([run(job), run({ ...job, source: 'trigger' })]);
    const outcomes = [first.outcome, second.outcome].sort();
    expect(outcomes).toEqual(['already-done', 'succeeded']);
    expect(await run({ ...job, source: 'trigger' })).toMatchObject({ outcome: 'already-done' });
    // One lease was ever taken: the duplicate never started a run of its own.
    const prefix = planOf(job).outputPrefix;
    expect(await exists(leaseKey(prefix, 0))).toBe(true);
    expect(await exists(leaseKey(prefix, 1))).toBe(false);
  });

  it('after a transient failure mid-way, the retry produces consistent outputs and manifest', async () => {
    const job = await uploadPhoto(media, 'uploads/u2/flaky.jpg');
    const real = media.store();
    let writes = 0;
    const flaky: MediaStore = {
      ...real,
      async write(key, body, options) {
        writes += 1;
        if (writes === 3) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        return real.write(key, body, options);
      },
    };
    await expect(run(job, workerConfig(), { store: flaky })).rejects.toThrow('socket hang up');
    const plan = planOf(job);
    expect(await exists(plan.manifestKey)).toBe(false);
    expect(await exists(plan.outputs[0]?.key ?? '')).toBe(true); // partial output from the failed run

    // The failed run released its lease (live for another 60 s otherwise): FC's retry takes the job at once.
    const retry = await run(job);
    expect(retry).toMatchObject({ outcome: 'succeeded', attempt: 2 });
    const manifest = await manifestOf(job);
    expect(manifest.attempt).toBe(2);
    expect(manifest.outputs.map((o) => o.key)).toEqual(plan.outputs.map((o) => o.key));
    await expectOutputsStored(manifest);
  });

  it('watches a live lease of a dead run, and takes over once it expires (epoch ms, fake clock)', async () => {
    const job = await uploadPhoto(media, 'uploads/u2/crashed.jpg');
    let clock = Date.now();
    const now = () => clock;
    const store = media.store();
    // The killed run took the lease and never released it.
    const killedAt = clock;
    const dead = await takeLease(store, job, 'killed-run', clock + 60_000, now);
    expect(dead.status).toBe('acquired');

    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
      clock += ms;
    };
    // The dead run started with this one: its lease expires when this run has no time left for the job. The run
    // watches while a takeover would leave half its time (60 s), then throws, and FC retries the request.
    await expect(run(job, workerConfig(), { now, sleep }, 'fc-request-1')).rejects.toThrow(JobHeldElsewhere);
    expect(slept.reduce((sum, ms) => sum + ms, 0)).toBe(30_000);
    expect(slept.every((ms) => ms <= WATCH_INTERVAL_MS)).toBe(true);
    // The retry watches the rest of the dead run's lease, and takes the job over the moment it expires.
    expect(await run(job, workerConfig(), { now, sleep }, 'fc-request-1')).toMatchObject({
      outcome: 'succeeded',
      attempt: 2,
    });
    expect(clock - killedAt).toBe(60_000);
  });

  it("FC's retry of a killed attempt (same request id) takes the job over at once", async () => {
    const job = await uploadPhoto(media, 'uploads/u2/oom.jpg');
    await takeLease(media.store(), job, 'fc-request-7', Date.now() + 600_000);
    expect(await run(job, workerConfig(), {}, 'fc-request-7')).toMatchObject({
      outcome: 'succeeded',
      attempt: 2,
    });
  });

  it('ends a job whose every attempt died in a failed manifest instead of looping', async () => {
    const job = await uploadPhoto(media, 'uploads/u2/killer.jpg');
    const store = media.store();
    // Every earlier run took the lease and died; each lease has expired.
    for (let generation = 0; generation < MAX_ATTEMPTS; generation++) {
      const taken = await takeLease(store, job, `run-${generation}`, 1, () => 1);
      expect(taken).toMatchObject({ status: 'acquired', lease: { attempt: generation + 1 } });
    }
    expect(await run(job)).toMatchObject({ outcome: 'failed', attempt: MAX_ATTEMPTS });
    const manifest = await manifestOf(job);
    expect(manifest).toMatchObject({ status: 'failed', outputs: [], error: { code: 'AttemptsExhausted' } });
  });

  it('records permanent failures in the manifest without throwing, once', async () => {
    const cases: Array<[string, Buffer, string, MediaWorkerConfig, string]> = [
      ['uploads/u3/corrupt.jpg', await truncatedJpeg(), 'image/jpeg', workerConfig(), 'CorruptMedia'],
      [
        'uploads/u3/text.png',
        Buffer.from('plain text, not a PNG'),
        'image/png',
        workerConfig(),
        'UnsupportedMedia',
      ],
      ['uploads/u3/bomb.png', await pngBomb(), 'image/png', workerConfig(), 'TooManyPixels'],
      [
        'uploads/u3/big.jpg',
        await jpegWithOrientation6(),
        'image/jpeg',
        workerConfig({ image: { ...workerConfig().image, maxBytes: 100 } }),
        'InputTooLarge',
      ],
    ];
    for (const [key, body, type, config, code] of cases) {
      const job = await uploadForJob(media, key, body, type, config);
      const result: JobResult = await run(job, config);
      expect(result.outcome, key).toBe('failed');
      const manifest = await manifestOf(job);
      expect(manifest.error?.code, key).toBe(code);
      expect(manifest.outputs).toEqual([]);
      expect(await run(job, config)).toMatchObject({ outcome: 'already-done' });
    }
  });

  it('fails a version overwritten before it ran (SourceChanged), and the new version still processes', async () => {
    const key = 'uploads/u3/replaced.jpg';
    const old = await uploadForJob(media, key, await truncatedJpeg(), 'image/jpeg');
    const current = await uploadPhoto(media, key);
    expect(current.etag).not.toBe(old.etag);
    expect(await run(old)).toMatchObject({ outcome: 'failed' });
    expect((await manifestOf(old)).error?.code).toBe('SourceChanged');
    expect(await run(current)).toMatchObject({ outcome: 'succeeded' });
  });

  it('rejects a job for another bucket or with a forged task id, without writing anything', async () => {
    const job = await uploadPhoto(media, 'uploads/u3/ok.jpg');
    expect(await run({ ...job, bucket: 'someone-else' })).toMatchObject({ outcome: 'rejected' });
    expect(await run({ ...job, taskId: 'upcall-forged' })).toMatchObject({ outcome: 'rejected' });
    expect(await exists(leaseKey(planOf(job).outputPrefix, 0))).toBe(false);
  });

  it('transcodes a video version: MP4 uploaded in parts, poster and its thumbnails', async () => {
    const file = join(scratchDir, 'clip.mp4');
    // Noisy, so the transcode is several 100 KiB parts.
    await generateVideo(file, { width: 320, height: 240, seconds: 3, noise: true });
    const job = await uploadForJob(media, 'uploads/u4/clip.mp4', await readFile(file), 'video/mp4');
    const store = media.store({ multipartThreshold: 1, partSize: 100 * 1024 });
    const result = await run(job, workerConfig(), { store });
    const manifest = await manifestOf(job);
    expect(manifest.error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'succeeded' });
    expect(manifest.input).toMatchObject({ width: 320, height: 240, videoCodec: 'h264', audioCodec: 'aac' });
    const plan = planOf(job);
    expect(manifest.outputs.map((o) => [o.role, o.key, o.width, o.height])).toEqual([
      ['transcode', plan.outputs[0]?.key, 192, 144],
      ['poster', plan.outputs[1]?.key, 192, 144],
      ['thumbnail', plan.outputs[2]?.key, 64, 48],
      ['thumbnail', plan.outputs[3]?.key, 64, 48],
      ['thumbnail', plan.outputs[4]?.key, 32, 24],
      ['thumbnail', plan.outputs[5]?.key, 32, 24],
    ]);
    const transcode = manifest.outputs[0];
    expect(Math.abs((transcode?.durationMs ?? 0) - 3000)).toBeLessThan(200);
    await expectOutputsStored(manifest);

    const mp4 = Buffer.from((await media.oss.get(transcode?.key ?? '')).content);
    const downloaded = join(scratchDir, 'downloaded.mp4');
    await writeFile(downloaded, mp4);
    const probed = await ffprobe(downloaded);
    expect(probed.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const boxes = topLevelBoxes(mp4);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
    // Uploaded with multipart upload: OSS gives such objects a `-<parts>` ETag.
    expect((await media.store().head(transcode?.key ?? ''))?.etag).toMatch(/-\d+$/);
  });
});
