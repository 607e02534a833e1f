/**
 * The child process images render in (isolated.ts forks it): sharp and libheif run here, so the parent can
 * stop a render that outlives its deadline by killing this process — libvips works on native threads that no
 * JavaScript timeout or worker termination can stop. It serves one request at a time, for as long as its parent keeps
 * it, and exits when its parent goes away (so a parent killed mid-job leaves no render burning the CPU).
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { MediaFailure } from './failure.js';
import { renderThumbnails } from './image.js';
import type { ImageChildReply, ImageChildRequest } from './isolated.js';

function reply(message: ImageChildReply): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

async function render(request: ImageChildRequest): Promise<ImageChildReply> {
  try {
    const source = await readFile(request.sourcePath);
    return { ok: true, rendered: await renderThumbnails(source, request.outputs, request.options) };
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

// libvips caches operations by file name; a renderer kept between renders must never serve one render's working
// copy (image.ts writes it under a fixed name in the job's folder) to another.
sharp.cache(false);
process.on('disconnect', () => process.exit(0));
// The parent sends one request at a time and waits for its answer.
process.on('message', (request: ImageChildRequest) => {
  void render(request).then(reply);
});
