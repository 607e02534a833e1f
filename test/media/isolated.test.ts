/**
 * Images render in a child process that the deadline really stops: the process is gone after a timeout, a crash is
 * told apart from a refusal, and what the child renders is what sharp renders in-process.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaFailure } from '../../functions/media/failure.js';
import type { ImageOptions } from '../../functions/media/image.js';
import { renderThumbnailsIsolated } from '../../functions/media/isolated.js';
import { animatedGif, frameBombGif, jpegWithOrientation6 } from '../helpers/media.js';

let dir: string;
let options: ImageOptions;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-'));
  options = { maxPixels: 50_000_000, maxFrames: 1_000_000, keepAnimation: true, workDir: dir };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Renderer processes this test process has started and that are still alive (vitest runs each file in its own). */
async function liveRenderers(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === process.pid && cmdline.includes('image-child')) pids.push(Number(entry));
    } catch {
      // exited while listed
    }
  }
  return pids;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );

const spec = { key: 'thumb.webp', contentType: 'image/webp', size: { width: 32, height: 32 } };

describe('image rendering in a child process', () => {
  it('renders what sharp renders, as Buffers; the renderer waits for the next render, and serves it', async () => {
    const source = join(dir, 'photo.jpg');
    await writeFile(source, await jpegWithOrientation6());
    const { input, outputs } = await renderThumbnailsIsolated(
      { sourcePath: source, outputs: [spec], options },
      30_000,
    );
    expect(input).toMatchObject({ format: 'jpeg', width: 200, height: 400 });
    expect(Buffer.isBuffer(outputs[0]?.body)).toBe(true);
    const meta = await sharp(outputs[0]?.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 16, 32]);
    const waiting = await liveRenderers();
    expect(waiting).toHaveLength(1);
    // The waiting renderer renders the next image afresh, though its working copy has the same name in this folder.
    const gif = join(dir, 'next.gif');
    await writeFile(gif, await animatedGif());
    const next = await renderThumbnailsIsolated({ sourcePath: gif, outputs: [spec], options }, 30_000);
    expect(next.outputs[0]).toMatchObject({ width: 32, height: 24, frames: 3 });
    expect(await liveRenderers()).toEqual(waiting);
    // Two at once: the waiting one serves one, a second starts for the other; one is kept afterwards.
    const twice = await Promise.all(
      [0, 1].map(() => renderThumbnailsIsolated({ sourcePath: source, outputs: [spec], options }, 30_000)),
    );
    expect(
      twice.map((rendered) => rendered.outputs[0]?.body.equals(outputs[0]?.body ?? Buffer.alloc(0))),
    ).toEqual([true, true]);
    const after = await until(async () => {
      const pids = await liveRenderers();
      return pids.length === 1 ? pids : undefined;
    });
    expect(after).toHaveLength(1);
  });

  it('brings refusals back as the same MediaFailure', async () => {
    const source = join(dir, 'animated.gif');
    await writeFile(source, await animatedGif());
    const failure = await failureOf(
      renderThumbnailsIsolated(
        { sourcePath: source, outputs: [spec], options: { ...options, maxFrames: 2 } },
        30_000,
      ),
    );
    expect(failure).toBeInstanceOf(MediaFailure);
    expect(failure).toMatchObject({
      code: 'TooManyFrames',
      message: 'the animation has 3 frames, over the limit of 2',
    });
  });

  it('kills a render at its deadline: RenderTimeout, and the process is gone', async () => {
    const source = join(dir, 'frames.gif');
    await writeFile(source, await frameBombGif(dir, 20_000, 32));
    const started = Date.now();
    const rendering = failureOf(
      renderThumbnailsIsolated({ sourcePath: source, outputs: [spec], options }, 2_000),
    );
    const [pid] = await until(async () => {
      const pids = await liveRenderers();
      return pids.length > 0 ? pids : undefined;
    });
    const failure = await rendering;
    expect(failure).toMatchObject({ code: 'RenderTimeout', message: 'the image did not render within 2 s' });
    expect(Date.now() - started).toBeLessThan(5_000);
    // The killed renderer is not kept: none waits now, and the next render starts a new one.
    expect(await liveRenderers()).toEqual([]);
    expect(() => process.kill(pid ?? 0, 0)).toThrow();
  });

  it('a renderer that dies of a signal crashed on the file: CorruptMedia, permanent', async () => {
    const source = join(dir, 'crash.gif');
    await writeFile(source, await frameBombGif(dir, 20_000, 32));
    const rendering = failureOf(
      renderThumbnailsIsolated({ sourcePath: source, outputs: [spec], options }, 30_000),
    );
    const [pid] = await until(async () => {
      const pids = await liveRenderers();
      return pids.length > 0 ? pids : undefined;
    });
    process.kill(pid ?? 0, 'SIGSEGV');
    const failure = await rendering;
    expect(failure).toBeInstanceOf(MediaFailure);
    expect(failure).toMatchObject({ code: 'CorruptMedia', message: 'the image decoder crashed on the file' });
  });
});
