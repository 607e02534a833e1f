import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ImageOptions, renderThumbnails, type ThumbnailSpec } from '../../functions/media/image.js';
import {
  animatedGif,
  displayP3Jpeg,
  failureOf,
  jpegWithOrientation6,
  onePixelPng,
  pixelAt,
  pngBomb,
  translucentPng,
  truncatedJpeg,
} from '../helpers/media.js';

const TYPES = { webp: 'image/webp', jpeg: 'image/jpeg', png: 'image/png', avif: 'image/avif' } as const;

function specs(sizes: string[], formats: Array<keyof typeof TYPES>): ThumbnailSpec[] {
  return sizes.flatMap((size) => {
    const [width, height] = size.split('x').map(Number) as [number, number];
    return formats.map((format) => ({
      key: `out/thumb-${size}.${format}`,
      contentType: TYPES[format],
      size: { width, height },
    }));
  });
}

describe('image pipeline (sharp)', () => {
  let workDir: string;
  let options: ImageOptions;
  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'upcall-'));
    options = { maxPixels: 50_000_000, maxFrames: 100, keepAnimation: true, workDir };
  });
  afterEach(() => rm(workDir, { recursive: true, force: true }));

  it('applies EXIF orientation 6: upright, fitted inside each box, never enlarged, EXIF stripped', async () => {
    const { input, outputs } = await renderThumbnails(
      await jpegWithOrientation6(),
      specs(['320x320', '100x100', '1000x1000'], ['webp', 'jpeg']),
      options,
    );
    expect(input).toEqual({ format: 'jpeg', width: 200, height: 400, frames: 1 });
    expect(outputs.map((o) => [o.key, o.width, o.height])).toEqual([
      ['out/thumb-320x320.webp', 160, 320],
      ['out/thumb-320x320.jpeg', 160, 320],
      ['out/thumb-100x100.webp', 50, 100],
      ['out/thumb-100x100.jpeg', 50, 100],
      // The box is larger than the image: kept at its own size.
      ['out/thumb-1000x1000.webp', 200, 400],
      ['out/thumb-1000x1000.jpeg', 200, 400],
    ]);
    for (const output of outputs) {
      const meta = await sharp(output.body).metadata();
      expect(meta.format).toBe(output.contentType === 'image/webp' ? 'webp' : 'jpeg');
      expect([meta.width, meta.height]).toEqual([output.width, output.height]);
      expect(meta.exif).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      // Upright: the stored top (red) is now on the right, the stored bottom (blue) on the left.
      const left = await pixelAt(output.body, Math.floor(output.width * 0.2), Math.floor(output.height / 2));
      const right = await pixelAt(output.body, Math.floor(output.width * 0.8), Math.floor(output.height / 2));
      expect(left.b).toBeGreaterThan(200);
      expect(left.r).toBeLessThan(60);
      expect(right.r).toBeGreaterThan(200);
      expect(right.b).toBeLessThan(60);
    }
  });

  it('keeps the colour profile (Display P3) and nothing else of the metadata', async () => {
    const source = await displayP3Jpeg();
    const sourceIcc = (await sharp(source).metadata()).icc;
    expect(sourceIcc).toBeDefined();
    const { outputs } = await renderThumbnails(source, specs(['32x32'], ['webp', 'jpeg', 'png']), options);
    for (const output of outputs) {
      const meta = await sharp(output.body).metadata();
      expect(meta.icc?.equals(sourceIcc as Buffer)).toBe(true);
      expect(meta.exif).toBeUndefined();
    }
  });

  it('keeps alpha in WebP and PNG, flattens JPEG on white', async () => {
    const { outputs } = await renderThumbnails(
      await translucentPng(),
      specs(['32x32'], ['webp', 'png', 'jpeg']),
      options,
    );
    const [webp, png, jpeg] = outputs;
    for (const output of [webp, png]) {
      const { data, info } = await sharp(output?.body).raw().toBuffer({ resolveWithObject: true });
      expect(info.channels).toBe(4);
      expect(data[3]).toBeGreaterThan(110);
      expect(data[3]).toBeLessThan(145);
    }
    expect(png?.width).toBe(32);
    expect(png?.height).toBe(24);
    const meta = await sharp(jpeg?.body).metadata();
    expect(meta.hasAlpha).toBe(false);
    // Half-transparent red over white is pink, not the dark red a black background gives.
    const pixel = await pixelAt(jpeg?.body as Buffer, 16, 12);
    expect(pixel.r).toBeGreaterThan(230);
    expect(pixel.g).toBeGreaterThan(100);
  });

  it('keeps an animated GIF animated in WebP; JPEG gets its first frame', async () => {
    const { input, outputs } = await renderThumbnails(
      await animatedGif(),
      specs(['40x40'], ['webp', 'jpeg']),
      options,
    );
    expect(input).toEqual({ format: 'gif', width: 80, height: 60, frames: 3 });
    const [webp, jpeg] = outputs;
    expect(webp).toMatchObject({ width: 40, height: 30, frames: 3 });
    const webpMeta = await sharp(webp?.body).metadata();
    expect(webpMeta.pages).toBe(3);
    expect(webpMeta.delay).toEqual([100, 100, 100]);
    expect(webpMeta.loop).toBe(0);
    expect(jpeg).toMatchObject({ width: 40, height: 30 });
    expect(jpeg?.frames).toBeUndefined();
    const first = await pixelAt(jpeg?.body as Buffer, 20, 15);
    expect(first.r).toBeGreaterThan(200);
    expect(first.g).toBeLessThan(60);
  });

  it('gives stills of an animation when animation is off', async () => {
    options.keepAnimation = false;
    const { input, outputs } = await renderThumbnails(
      await animatedGif(),
      specs(['40x40'], ['webp']),
      options,
    );
    expect(input.frames).toBe(1);
    expect(outputs[0]?.frames).toBeUndefined();
    expect((await sharp(outputs[0]?.body).metadata()).pages ?? 1).toBe(1);
  });

  it('counts every frame against the pixel limit', async () => {
    options.maxPixels = 10_000; // one frame is 4 800 pixels, all three 14 400
    const failure = await failureOf(
      renderThumbnails(await animatedGif(), specs(['40x40'], ['webp']), options),
    );
    expect(failure.code).toBe('TooManyPixels');
    options.keepAnimation = false;
    await expect(
      renderThumbnails(await animatedGif(), specs(['40x40'], ['webp']), options),
    ).resolves.toBeDefined();
  });

  it('renders a 1×1 image in every format', async () => {
    const { outputs } = await renderThumbnails(
      await onePixelPng(),
      specs(['320x320'], ['webp', 'jpeg', 'png', 'avif']),
      options,
    );
    expect(outputs).toHaveLength(4);
    for (const output of outputs) {
      const meta = await sharp(output.body).metadata();
      expect([meta.width, meta.height, output.width, output.height]).toEqual([1, 1, 1, 1]);
    }
    expect((await sharp(outputs[3]?.body).metadata()).format).toBe('heif');
  });

  it('refuses a decompression bomb from its header, before decoding', async () => {
    const started = Date.now();
    const failure = await failureOf(renderThumbnails(await pngBomb(), specs(['320x320'], ['webp']), options));
    expect(failure.code).toBe('TooManyPixels');
    expect(failure.message).toContain('100000×100000');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('calls garbage unsupported and a truncated JPEG corrupt', async () => {
    const garbage = await failureOf(
      renderThumbnails(Buffer.from('this is not an image'), specs(['32x32'], ['webp']), options),
    );
    expect(garbage.code).toBe('UnsupportedMedia');
    const truncated = await failureOf(
      renderThumbnails(await truncatedJpeg(), specs(['32x32'], ['webp']), options),
    );
    expect(truncated.code).toBe('CorruptMedia');
  });
});
