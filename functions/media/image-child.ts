/**
 * The child process images render in (isolated.ts forks it): sharp and libheif run here, so the parent can
 * stop a render that outlives its deadline by killing this process — libvips works on native threads that no
 * JavaScript timeout or worker termination can stop. It serves one request at a time, for as long as its parent keeps
 * it, and exits when its parent goes away (so a parent killed mid-job leaves no render burning the CPU).
 *
 * sharp is a native addon, loaded with the pipeline on the first request rather than when this process starts: a
 * missing or broken build (wrong platform, a package left out) is then answered as the worker's misconfiguration —
 * the job ends in a `failed` manifest, not retried — instead of a process that dies before it can say why, which
 * the parent could only take for a transient fault.
 */
import { readFile } from 'node:fs/promises';
import { MediaFailure } from './failure.js';
import type { ImageChildReply, ImageChildRequest } from './isolated.js';

let pipeline: Promise<typeof import('./image.js')> | undefined;

function loadPipeline(): Promise<typeof import('./image.js')> {
  pipeline ??= Promise.all([import('sharp'), import('./image.js')]).then(([{ default: sharp }, image]) => {
    // libvips caches operations by file name; a renderer kept between renders must never serve one render's
    // working copy (image.ts writes it under a fixed name in the job's folder) to another.
    sharp.cache(false);
    return image;
  });
  return pipeline;
}

function reply(message: ImageChildReply): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

async function answer(request: ImageChildRequest): Promise<ImageChildReply> {
  let image: Awaited<ReturnType<typeof loadPipeline>>;
  try {
    image = await loadPipeline();
  } catch (error) {
    return { ok: false, misconfigured: `sharp does not load: ${(error as Error).message}` };
  }
  if ('load' in request) return { ok: true, loaded: true };
  try {
    const source = await readFile(request.sourcePath);
    return { ok: true, rendered: await image.renderThumbnails(source, request.outputs, request.options) };
  } catch (error) {
    if (error instanceof MediaFailure) {
      const cause = error.cause instanceof Error ? error.cause.message : undefined;
      return {
        ok: false,
        failure: { code: error.code, message: error.message, ...(cause ? { cause } : {}) },
      };
    }
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

process.on('disconnect', () => process.exit(0));
// The parent sends one request at a time and waits for its answer.
process.on('message', (request: ImageChildRequest) => {
  void answer(request).then(reply);
});
