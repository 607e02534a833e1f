/**
 * Rendering one planned job: download exactly the version the job names (`If-Match`) to the scratch folder, bounded
 * by the size limit of its kind; identify it by its bytes (sniff.ts) — the declared content type chose the plan, but
 * is only a claim; run the image or video pipeline on the local file; and upload every planned output under its
 * fixed key. Outputs are plain overwrites (a retry simply writes them again); only the manifest, written by job.ts
 * after this, says the job is done. A permanent failure (the input's fault) is returned as a `MediaFailure` to
 * record; anything else is thrown as transient.
 */
import { createWriteStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../shared/log.js';
import type { MediaJob, MediaPlan } from '../../shared/media-job.js';
import { type MediaOutput, SOURCE_ETAG_HEADER } from '../../shared/media-manifest.js';
import type { StoredObject } from '../../shared/upload-verdict.js';
import type { MediaWorkerConfig } from './config.js';
import { MediaFailure } from './failure.js';
import type { MediaTools } from './ffmpeg.js';
import type { ImageOptions, ThumbnailSpec } from './image.js';
import { renderThumbnailsIsolated } from './isolated.js';
import type { Rendered } from './manifest.js';
import { SNIFF_BYTES, type Sniffed, sniff } from './sniff.js';
import type { MediaStore, WriteOptions } from './store.js';
import { renderVideo, stepTimeoutMs } from './video.js';

export interface RenderDeps {
  store: MediaStore;
  /** Resolved on first use: image jobs never need ffmpeg. */
  tools: () => Promise<MediaTools>;
  now: () => number;
  log: Logger;
}

export interface RenderInput {
  job: MediaJob;
  plan: MediaPlan;
  config: MediaWorkerConfig;
  /** A private scratch folder of this run. */
  workDir: string;
  /** Epoch ms by which rendering must be over: the function's timeout less the time kept for uploads. */
  deadline: number;
}

const tooLarge = (kind: string, maxBytes: number) =>
  new MediaFailure('InputTooLarge', `the ${kind} is over the limit of ${maxBytes} bytes`);

/** Passes bytes through until `maxBytes`, then fails: the limit holds on the wire, whatever HEAD said. */
function byteCap(maxBytes: number, kind: string): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      done(total > maxBytes ? tooLarge(kind, maxBytes) : null, chunk);
    },
  });
}

async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

class Run {
  readonly steps: Record<string, number> = {};

  constructor(
    readonly input: RenderInput,
    readonly deps: RenderDeps,
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
      headers: { 'Cache-Control': this.input.config.cacheControl, [SOURCE_ETAG_HEADER]: this.input.job.etag },
    };
  }

  thumbnailSpecs(): ThumbnailSpec[] {
    return this.input.plan.outputs.flatMap((output) =>
      output.role === 'thumbnail' && output.size
        ? [{ key: output.key, contentType: output.contentType, size: output.size }]
        : [],
    );
  }

  imageOptions(): ImageOptions {
    const { maxPixels, maxFrames, keepAnimation } = this.input.config.image;
    return { maxPixels, maxFrames, keepAnimation, workDir: this.input.workDir };
  }

  /** Thumbnails of the image at `path` (the source, or a video's poster), rendered in a child under the deadline. */
  async thumbnails(path: string) {
    const timeoutMs = stepTimeoutMs(this.input.config.image.timeoutMs, this.input.deadline, this.deps.now);
    const rendered = await this.timed('render', () =>
      renderThumbnailsIsolated(
        { sourcePath: path, outputs: this.thumbnailSpecs(), options: this.imageOptions() },
        timeoutMs,
      ),
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

  /** Download this version of the source to `path`; a later overwrite or a delete fails the read (`If-Match`). */
  async download(source: StoredObject, path: string): Promise<void> {
    const { job, config } = this.input;
    const kind = this.input.plan.kind;
    const { maxBytes } = kind === 'image' ? config.image : config.video;
    if (source.size > maxBytes) throw tooLarge(kind, maxBytes);
    await this.timed('download', async () => {
      const stream = await this.deps.store.openRead(job.key, job.etag);
      if (!stream)
        throw new MediaFailure('SourceChanged', 'the object was deleted or overwritten while processed');
      await pipeline(stream, byteCap(maxBytes, kind), createWriteStream(path));
    });
  }

  /** What the bytes are, refused unless they are media of the kind the plan was made for. */
  identify(head: Buffer): Extract<Sniffed, { kind: 'image' | 'video' }> {
    const { job, plan } = this.input;
    const found = sniff(head);
    if (found.kind === 'other') {
      throw new MediaFailure(
        'UnsupportedMedia',
        `the file is ${found.name}, not ${plan.kind === 'image' ? 'an image' : 'a video'} upcall processes`,
      );
    }
    if (found.kind !== plan.kind) {
      throw new MediaFailure(
        'ContentMismatch',
        `the file is ${found.kind === 'image' ? `a ${found.format} image` : `a ${found.name} video`}, but was uploaded as ${job.contentType}`,
      );
    }
    return found;
  }

  async image(path: string): Promise<Rendered> {
    const { input, outputs } = await this.thumbnails(path);
    return {
      input: { format: input.format, width: input.width, height: input.height, frames: input.frames },
      outputs,
    };
  }

  async video(path: string, format: string): Promise<Rendered> {
    const { store, now } = this.deps;
    const { plan, config } = this.input;
    const tools = await this.deps.tools();
    const video = await renderVideo(path, {
      tools,
      maxLines: config.video.maxLines,
      maxDurationMs: config.video.maxDurationMs,
      workDir: this.input.workDir,
      format,
      deadline: this.input.deadline,
      now,
    });
    Object.assign(this.steps, video.steps);
    const transcodeKey = plan.outputs.find((output) => output.role === 'transcode');
    const posterKey = plan.outputs.find((output) => output.role === 'poster');
    if (!transcodeKey || !posterKey)
      throw new Error(`video plan ${plan.taskId} lacks its transcode or poster`);

    const poster = await readFile(video.poster.path);
    const { input: posterInfo, outputs: thumbnails } = await this.thumbnails(video.poster.path);
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

  async render(): Promise<Rendered | MediaFailure> {
    const { job } = this.input;
    try {
      // Process exactly the version the job names; a later upload to the same key has its own job.
      const source = await this.timed('head', () => this.deps.store.head(job.key));
      if (!source || source.etag !== job.etag) {
        throw new MediaFailure(
          'SourceChanged',
          source
            ? `the object was overwritten (now etag ${source.etag}) before this version was processed`
            : 'the object was deleted before it was processed',
        );
      }
      const path = join(this.input.workDir, 'source');
      await this.download(source, path);
      const found = this.identify(await readHead(path));
      return found.kind === 'image' ? await this.image(path) : await this.video(path, found.format);
    } catch (error) {
      if (error instanceof MediaFailure) return error;
      throw error;
    }
  }
}

/**
 * Render and upload everything the plan names. Returns the outputs, or the permanent failure to record, with the
 * time spent in each step; throws for transient trouble.
 */
export async function renderJob(
  input: RenderInput,
  deps: RenderDeps,
): Promise<{ result: Rendered | MediaFailure; steps: Record<string, number> }> {
  const run = new Run(input, deps);
  const result = await run.render();
  return { result, steps: run.steps };
}
