/**
 * The media job, exactly once per object version: skip when the manifest exists, otherwise hold the version's lease,
 * render every planned output, upload them, and write the manifest last. Permanent failures (the input's fault) end
 * in a `failed` manifest; anything else releases the lease and throws, so FC's retry runs the job again — outputs
 * have fixed keys and are simply overwritten, and only the manifest says the job is done.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { UPLOAD_REASON_TAG, UPLOAD_STATUS_TAG } from '../../shared/callback-contract.js';
import type { Logger } from '../../shared/log.js';
import {
  type MediaJob,
  type MediaPlan,
  type MediaPlanSettings,
  planMediaJob,
} from '../../shared/media-job.js';
import {
  MANIFEST_CONTENT_TYPE,
  type MediaManifest,
  type MediaOutput,
  mediaManifestValidator,
  SOURCE_ETAG_HEADER,
} from '../../shared/media-manifest.js';
import { MediaFailure } from './failure.js';
import type { MediaTools } from './ffmpeg.js';
import { type ImageOptions, renderThumbnails, type ThumbnailSpec } from './image.js';
import { acquireLease } from './lease.js';
import type { MediaStore, StoredObject, WriteOptions } from './store.js';
import { renderVideo } from './video.js';

export interface MediaWorkerConfig {
  bucket: string;
  plan: MediaPlanSettings;
  image: { maxBytes: number; maxPixels: number; keepAnimation: boolean };
  video: { maxLines: number; maxDurationMs: number };
  /** Cache-Control of every output. */
  cacheControl: string;
  /** The function's timeout: lease lifetime and the deadline tools must finish by. */
  timeoutMs: number;
}

export interface MediaWorkerDeps {
  store: MediaStore;
  /** Resolved on first use: image jobs never need ffmpeg. */
  tools: () => Promise<MediaTools>;
  now: () => number;
  log: Logger;
  /** Where per-run scratch folders are made (FC: /tmp). */
  scratchDir: string;
  /** The application's webhooks; absent when none is configured. */
  webhooks?: JobWebhooks;
}

export interface JobWebhooks {
  /**
   * Tell the application a manifest was written (`media.ready` / `media.failed`, through the outbox). Throws when the
   * event could not be recorded or its retry queued, so FC's retry of the job (which finds the manifest) repeats it.
   */
  manifestWritten(manifest: MediaManifest): Promise<void>;
  /** The callback function asks the application before it queues a job (an upload hook is configured). */
  awaitUploadVerdict: boolean;
  sleep(ms: number): Promise<void>;
}

/**
 * How long after the trigger path queued a job the callback may still refuse the upload: OSS waits 5 s for the
 * callback's answer, plus a margin for the callback function's own start. A trigger-path job waits this out before
 * looking for the refusal tag when the application can veto uploads, so a veto is never raced by processing.
 */
export const CALLBACK_WINDOW_MS = 6000;
/** How often a waiting trigger-path job looks for the callback's verdict tag. */
const VERDICT_POLL_MS = 250;

export interface RunContext {
  /** FC's request id: the lease holder. */
  requestId: string;
}

export type JobResult =
  | { outcome: 'succeeded' | 'failed'; taskId: string; manifestKey: string; attempt: number }
  /** The manifest already exists: nothing to do. */
  | { outcome: 'already-done'; taskId: string; manifestKey: string }
  /** Another run holds the lease and owns the job. */
  | { outcome: 'in-progress'; taskId: string; manifestKey: string }
  /** The content type gets no job (the job was planned with other settings, or by hand). */
  | { outcome: 'not-media'; taskId: string }
  /** The job does not describe an object version this function serves; retrying cannot change that. */
  | { outcome: 'rejected'; taskId: string; reason: string };

/**
 * Runs that may end without a manifest (killed, or failed transiently) before the job is declared stuck: above FC's
 * largest retry count (8) plus a re-dispatch from the other path, yet finite, so a source that kills every run (e.g.
 * out of memory) ends `failed` instead of looping.
 */
export const MAX_ATTEMPTS = 12;

/** Outputs are immutable per object version; the manifest is polled, so it must not be cached. */
const MANIFEST_CACHE_CONTROL = 'no-cache';

export async function readManifest(
  store: MediaStore,
  key: string,
  log: Logger,
): Promise<MediaManifest | null> {
  const body = await store.read(key);
  if (!body) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const checked = mediaManifestValidator.validate(parsed);
  if (checked.ok) return checked.value;
  // Not ours (edited by hand?): treat as absent, so the job runs and writes a valid one.
  log.warn({ manifestKey: key }, 'ignoring an invalid manifest');
  return null;
}

async function readCapped(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      stream.destroy();
      throw new MediaFailure('InputTooLarge', `the image is over the limit of ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

interface Rendered {
  input: NonNullable<MediaManifest['input']>;
  outputs: MediaOutput[];
}

class Run {
  readonly steps: Record<string, number> = {};

  constructor(
    readonly job: MediaJob,
    readonly plan: MediaPlan,
    readonly config: MediaWorkerConfig,
    readonly deps: MediaWorkerDeps,
    readonly workDir: string,
    readonly deadline: number,
  ) {}

  async timed<T>(step: string, work: () => Promise<T>): Promise<T> {
    const started = this.deps.now();
    try {
      return await work();
    } finally {
      this.steps[step] = (this.steps[step] ?? 0) + this.deps.now() - started;
    }
  }

  outputHeaders(contentType: string): WriteOptions {
    return {
      contentType,
      headers: { 'Cache-Control': this.config.cacheControl, [SOURCE_ETAG_HEADER]: this.job.etag },
    };
  }

  thumbnailSpecs(): ThumbnailSpec[] {
    return this.plan.outputs.flatMap((output) =>
      output.role === 'thumbnail' && output.size
        ? [{ key: output.key, contentType: output.contentType, size: output.size }]
        : [],
    );
  }

  imageOptions(): ImageOptions {
    return { ...this.config.image, workDir: this.workDir };
  }

  async thumbnails(source: Buffer) {
    const rendered = await this.timed('render', () =>
      renderThumbnails(source, this.thumbnailSpecs(), this.imageOptions()),
    );
    const outputs: MediaOutput[] = [];
    await this.timed('upload', async () => {
      for (const image of rendered.outputs) {
        await this.deps.store.write(image.key, image.body, this.outputHeaders(image.contentType));
        outputs.push({
          role: 'thumbnail',
          key: image.key,
          contentType: image.contentType,
          bytes: image.body.length,
          width: image.width,
          height: image.height,
          ...(image.frames ? { frames: image.frames } : {}),
        });
      }
    });
    return { input: rendered.input, outputs };
  }

  async image(source: StoredObject): Promise<Rendered> {
    const { maxBytes } = this.config.image;
    if (source.size > maxBytes) {
      throw new MediaFailure(
        'InputTooLarge',
        `the image has ${source.size} bytes, over the limit of ${maxBytes}`,
      );
    }
    // sharp needs the whole encoded image (most formats need random access), so the OSS stream is read into one
    // buffer — the only copy — with the size limit enforced on the wire rather than trusting HEAD.
    const body = await this.timed('download', async () => {
      const stream = await this.deps.store.openRead(this.job.key, this.job.etag);
      if (!stream)
        throw new MediaFailure('SourceChanged', 'the object was deleted or overwritten while processed');
      return readCapped(stream, maxBytes);
    });
    const { input, outputs } = await this.thumbnails(body);
    return {
      input: { format: input.format, width: input.width, height: input.height, frames: input.frames },
      outputs,
    };
  }

  async video(): Promise<Rendered> {
    const { store, now } = this.deps;
    const tools = await this.deps.tools();
    const expiresSeconds = Math.ceil(this.config.timeoutMs / 1000) + 60;
    const url = await store.presignedGetUrl(this.job.key, expiresSeconds);
    const video = await renderVideo(url, {
      tools,
      maxLines: this.config.video.maxLines,
      maxDurationMs: this.config.video.maxDurationMs,
      workDir: this.workDir,
      sourceEtag: this.job.etag,
      deadline: this.deadline,
      now,
    });
    Object.assign(this.steps, video.steps);
    const transcodeKey = this.plan.outputs.find((output) => output.role === 'transcode');
    const posterKey = this.plan.outputs.find((output) => output.role === 'poster');
    if (!transcodeKey || !posterKey)
      throw new Error(`video plan ${this.plan.taskId} lacks its transcode or poster`);

    const poster = await readFile(video.poster.path);
    const { input: posterInfo, outputs: thumbnails } = await this.thumbnails(poster);
    await this.timed('upload', async () => {
      await store.writeFile(
        transcodeKey.key,
        video.transcode.path,
        video.transcode.bytes,
        this.outputHeaders(transcodeKey.contentType),
      );
      await store.write(posterKey.key, poster, this.outputHeaders(posterKey.contentType));
    });
    const { transcode } = video;
    return {
      input: {
        format: video.input.format,
        width: video.input.width,
        height: video.input.height,
        ...(video.input.durationMs !== undefined ? { durationMs: video.input.durationMs } : {}),
        videoCodec: video.input.videoCodec,
        ...(video.input.audioCodec ? { audioCodec: video.input.audioCodec } : {}),
      },
      outputs: [
        {
          role: 'transcode',
          key: transcodeKey.key,
          contentType: transcodeKey.contentType,
          bytes: transcode.bytes,
          width: transcode.width,
          height: transcode.height,
          durationMs: transcode.durationMs,
        },
        {
          role: 'poster',
          key: posterKey.key,
          contentType: posterKey.contentType,
          bytes: poster.length,
          width: posterInfo.width,
          height: posterInfo.height,
        },
        ...thumbnails,
      ],
    };
  }

  /** Render and upload everything; a permanent failure becomes the failure to record, anything else throws. */
  async render(): Promise<Rendered | MediaFailure> {
    try {
      // Process exactly the version the job names; a later upload to the same key has its own job.
      const source = await this.timed('head', () => this.deps.store.head(this.job.key));
      if (!source || source.etag !== this.job.etag) {
        throw new MediaFailure(
          'SourceChanged',
          source
            ? `the object was overwritten (now etag ${source.etag}) before this version was processed`
            : 'the object was deleted before it was processed',
        );
      }
      return this.plan.kind === 'image' ? await this.image(source) : await this.video();
    } catch (error) {
      if (error instanceof MediaFailure) return error;
      throw error;
    }
  }
}

function manifestOf(
  job: MediaJob,
  plan: MediaPlan,
  attempt: number,
  timings: MediaManifest['timings'],
  result: Rendered | MediaFailure,
): MediaManifest {
  const common = {
    version: 1 as const,
    taskId: plan.taskId,
    bucket: job.bucket,
    key: job.key,
    etag: job.etag,
    kind: plan.kind,
    contentType: job.contentType,
    size: job.size,
    source: job.source,
    attempt,
    timings,
  };
  if (result instanceof MediaFailure) {
    return {
      ...common,
      status: 'failed',
      outputs: [],
      error: { code: result.code, message: result.message },
    };
  }
  return { ...common, status: 'succeeded', input: result.input, outputs: result.outputs };
}

async function writeManifest(store: MediaStore, plan: MediaPlan, manifest: MediaManifest): Promise<void> {
  await store.write(plan.manifestKey, Buffer.from(JSON.stringify(manifest, null, 2)), {
    contentType: MANIFEST_CONTENT_TYPE,
    headers: { 'Cache-Control': MANIFEST_CACHE_CONTROL, [SOURCE_ETAG_HEADER]: manifest.etag },
  });
}

/** Run one media job. Throws only for transient trouble (FC retries); every other end is a result. */
export async function runMediaJob(
  job: MediaJob,
  context: RunContext,
  config: MediaWorkerConfig,
  deps: MediaWorkerDeps,
): Promise<JobResult> {
  const startedAt = deps.now();
  const log = deps.log.child({ taskId: job.taskId, key: job.key, etag: job.etag });
  if (job.bucket !== config.bucket) {
    log.error({ bucket: job.bucket }, 'job for another bucket');
    return {
      outcome: 'rejected',
      taskId: job.taskId,
      reason: `this function serves bucket ${config.bucket}`,
    };
  }
  const plan = planMediaJob(job, config.plan);
  if (!plan) {
    log.warn({ contentType: job.contentType }, 'content type gets no media job');
    return { outcome: 'not-media', taskId: job.taskId };
  }
  if (plan.taskId !== job.taskId) {
    log.error({ expected: plan.taskId }, 'task id does not match the object version');
    return {
      outcome: 'rejected',
      taskId: job.taskId,
      reason: `the task id of this object version is ${plan.taskId}`,
    };
  }
  const { manifestKey } = plan;
  const done = await readManifest(deps.store, manifestKey, log);
  if (done) {
    log.info('already done');
    // A retry after the event could not be recorded or queued: this repeats it (the outbox keeps one record).
    await deps.webhooks?.manifestWritten(done);
    return { outcome: 'already-done', taskId: plan.taskId, manifestKey };
  }

  const timings = () => ({ requestedAt: job.requestedAt, startedAt, finishedAt: deps.now(), steps: {} });
  let tags = await deps.store.tags(job.key);
  if (job.source === 'trigger' && deps.webhooks?.awaitUploadVerdict) {
    // The application may still refuse this upload: wait for the callback's verdict tag, or for the window to close
    // (the callback failed or never came, and this trigger path is the backstop).
    const windowEnds = job.requestedAt + CALLBACK_WINDOW_MS;
    if (!tags?.[UPLOAD_STATUS_TAG] && deps.now() < windowEnds) {
      log.info(
        { windowEnds },
        'waiting for the callback verdict: the application may still refuse the upload',
      );
    }
    while (!tags?.[UPLOAD_STATUS_TAG] && deps.now() < windowEnds) {
      await deps.webhooks.sleep(Math.min(VERDICT_POLL_MS, windowEnds - deps.now()));
      tags = await deps.store.tags(job.key);
    }
  }
  // Refused by the callback function (its own object, provably): kept and accounted for, never processed.
  if (tags?.[UPLOAD_STATUS_TAG] === 'rejected') {
    const reason = tags[UPLOAD_REASON_TAG] ?? 'no reason recorded';
    const failure = new MediaFailure(
      'UploadRejected',
      `the callback function refused this upload: ${reason}`,
    );
    await writeManifest(deps.store, plan, manifestOf(job, plan, 1, timings(), failure));
    log.warn({ reason }, 'upload was refused by the callback; not processed');
    return { outcome: 'failed', taskId: plan.taskId, manifestKey, attempt: 1 };
  }

  const claim = await acquireLease(deps.store, {
    prefix: plan.outputPrefix,
    taskId: plan.taskId,
    holder: context.requestId,
    expiresAt: startedAt + config.timeoutMs,
    maxAttempts: MAX_ATTEMPTS,
    now: deps.now,
  });
  // A live lease belongs to a run still working, or to one FC killed — at its timeout its lease expires with it, and
  // otherwise FC's retry of that same request takes over at once: either way that run finishes the job. Throwing
  // here instead would only burn this invocation's retries and end in the failure destination for a healthy job.
  if (claim.status === 'held') {
    log.info({ holder: claim.holder, expiresAt: claim.expiresAt }, 'another run holds the job');
    return { outcome: 'in-progress', taskId: plan.taskId, manifestKey };
  }
  if (claim.status === 'exhausted') {
    const failure = new MediaFailure(
      'AttemptsExhausted',
      `${claim.attempts} runs ended without finishing the job`,
    );
    const manifest = manifestOf(job, plan, claim.attempts, timings(), failure);
    await writeManifest(deps.store, plan, manifest);
    await deps.webhooks?.manifestWritten(manifest);
    log.error({ attempts: claim.attempts }, 'job abandoned: every attempt died');
    return { outcome: 'failed', taskId: plan.taskId, manifestKey, attempt: claim.attempts };
  }

  const { lease } = claim;
  let workDir: string | undefined;
  try {
    // A run that finished between the first check and the lease: its manifest is final.
    if (await readManifest(deps.store, manifestKey, log)) {
      await lease.release();
      return { outcome: 'already-done', taskId: plan.taskId, manifestKey };
    }
    workDir = await mkdtemp(join(deps.scratchDir, 'upcall-media-'));
    const run = new Run(job, plan, config, deps, workDir, startedAt + config.timeoutMs);
    const result = await run.render();
    const manifest = manifestOf(job, plan, lease.attempt, { ...timings(), steps: run.steps }, result);
    await writeManifest(deps.store, plan, manifest);
    await deps.webhooks?.manifestWritten(manifest);
    if (result instanceof MediaFailure) {
      log.warn({ code: result.code, reason: result.message, attempt: lease.attempt }, 'media job failed');
    } else {
      log.info(
        { outputs: manifest.outputs.length, steps: run.steps, attempt: lease.attempt },
        'media job done',
      );
    }
    return { outcome: manifest.status, taskId: plan.taskId, manifestKey, attempt: lease.attempt };
  } catch (error) {
    // Transient: give the job back so FC's retry can run it now rather than after the lease expires.
    await lease.release().catch((releaseError: unknown) => {
      log.error({ err: releaseError }, 'could not release the lease; the retry waits for it to expire');
    });
    throw error;
  } finally {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }
}
