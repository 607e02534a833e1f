/**
 * HEIC stills through the image pipeline: decoded by libheif (WebAssembly), then the same sharp thumbnails as a JPEG —
 * oriented once (container `irot` or EXIF, never both), colour profile kept, primary image of multi-image files, pixel
 * limit from the header, alpha and 10-bit sources. Every fixture is made by Debian's heif-enc at test time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ImageOptions, renderThumbnails, type ThumbnailSpec } from '../../functions/media/image.js';
import { BLUE, failureOf, pixelAt, RED, solidPng } from '../helpers/media.js';
import {
  expectUpright,
  heifEnc,
  near,
  sidewaysJpeg,
  withClaimedSize,
  withIrot,
  withPrimaryItem,
} from '../helpers/phone-media.js';

const THUMBS: ThumbnailSpec[] = [
  { key: 'out/thumb-320x320.webp', contentType: 'image/webp', size: { width: 320, height: 320 } },
  { key: 'out/thumb-1280x1280.jpg', contentType: 'image/jpeg', size: { width: 1280, height: 1280 } },
];

describe('HEIC stills (libheif in WebAssembly, then sharp)', () => {
  let workDir: string;
  let options: ImageOptions;
  let sideways: Buffer;
  beforeAll(async () => {
    sideways = await heifEnc([await sidewaysJpeg(400, 200)]);
  });
  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'upcall-heic-'));
    options = { maxPixels: 50_000_000, maxFrames: 100, keepAnimation: true, workDir };
  });
  afterEach(() => rm(workDir, { recursive: true, force: true }));

  it('is HEVC in HEIF, which sharp alone cannot decode', async () => {
    expect(await sharp(sideways).metadata()).toMatchObject({ format: 'heif', compression: 'hevc' });
    await expect(sharp(sideways).toBuffer()).rejects.toThrow(/HEVC|compression format/i);
  });

  it('a 12 MP photo with EXIF orientation 6 gives upright thumbnails of the right size, Display P3 kept', async () => {
    const source = await sidewaysJpeg(4032, 3024);
    const heic = await heifEnc([source]);
    const { input, outputs } = await renderThumbnails(heic, THUMBS, options);
    expect(input).toEqual({ format: 'heif', width: 3024, height: 4032, frames: 1 });
    expect(outputs.map((o) => [o.key, o.width, o.height])).toEqual([
      ['out/thumb-320x320.webp', 240, 320],
      ['out/thumb-1280x1280.jpg', 960, 1280],
    ]);
    const p3 = (await sharp(source).metadata()).icc as Buffer;
    for (const output of outputs) {
      const meta = await sharp(output.body).metadata();
      expect([meta.width, meta.height, meta.orientation]).toEqual([output.width, output.height, undefined]);
      expect(meta.exif).toBeUndefined();
      expect(meta.icc?.equals(p3), output.key).toBe(true);
      await expectUpright(output.body, output.width, output.height);
    }
  }, 120_000);

  it('orients an iPhone-style file (irot and EXIF orientation for the same turn) once, not twice', async () => {
    const iphone = withIrot(sideways, 3);
    expect((await sharp(iphone).metadata()).autoOrient).toEqual({ width: 200, height: 400 });
    const { input, outputs } = await renderThumbnails(iphone, THUMBS.slice(0, 1), options);
    expect(input).toMatchObject({ width: 200, height: 400 });
    const [thumb] = outputs;
    expect([thumb?.width, thumb?.height]).toEqual([160, 320]);
    await expectUpright(thumb?.body as Buffer, 160, 320);
  });

  it('decodes the primary image of a multi-image file, even when it is not the first', async () => {
    const burst = await heifEnc([await solidPng(64, 48, RED), await solidPng(80, 60, BLUE)]);
    expect((await sharp(burst).metadata()).pages).toBe(2);
    // heif-enc stores each picture as a coded tile (items 1, 3) under a grid image (items 2, 4); 2 is the primary.

    const first = await renderThumbnails(burst, THUMBS.slice(0, 1), options);
    expect(first.input).toMatchObject({ width: 64, height: 48, frames: 1 });
    near(await pixelAt(first.outputs[0]?.body as Buffer, 10, 10), RED);

    const second = await renderThumbnails(withPrimaryItem(burst, 4), THUMBS.slice(0, 1), options);
    expect(second.input).toMatchObject({ width: 80, height: 60, frames: 1 });
    near(await pixelAt(second.outputs[0]?.body as Buffer, 10, 10), BLUE);
  });

  it('refuses a HEIC whose header claims too many pixels, before decoding any', async () => {
    const bomb = withClaimedSize(sideways, 100_000, 100_000);
    const failure = await failureOf(renderThumbnails(bomb, THUMBS, options));
    expect(failure.code).toBe('TooManyPixels');
    expect(failure.message).toContain('100000×100000');

    const overLimit = await failureOf(renderThumbnails(sideways, THUMBS, { ...options, maxPixels: 79_999 }));
    expect(overLimit.code).toBe('TooManyPixels');
  });

  it('decodes 10-bit HEVC to 8-bit thumbnails with the same colours', async () => {
    const sixteenBit = await sharp({ create: { width: 120, height: 80, channels: 3, background: RED } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    const heic = await heifEnc([sixteenBit], { bitDepth: 10 });
    expect((await sharp(heic).metadata()).bitsPerSample).toBe(10);
    const { outputs } = await renderThumbnails(heic, THUMBS, options);
    for (const output of outputs) {
      expect((await sharp(output.body).metadata()).depth).toBe('uchar');
      near(await pixelAt(output.body, 60, 40), RED);
    }
  });

  it('keeps alpha in WebP and flattens JPEG on white', async () => {
    const translucent = await sharp({
      create: { width: 64, height: 48, channels: 4, background: { ...RED, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    const { outputs } = await renderThumbnails(await heifEnc([translucent]), THUMBS, options);
    const [webp, jpeg] = outputs;
    expect((await sharp(webp?.body as Buffer).metadata()).hasAlpha).toBe(true);
    near(await pixelAt(jpeg?.body as Buffer, 32, 24), { r: 255, g: 128, b: 128 });
  });

  it('calls a truncated HEIC corrupt, without crashing the worker', async () => {
    const truncated = sideways.subarray(0, Math.floor(sideways.length * 0.8));
    const failure = await failureOf(renderThumbnails(truncated, THUMBS, options));
    expect(failure.code).toBe('CorruptMedia');
  });

  it('leaves AVIF to sharp’s own decoder', async () => {
    const avif = await sharp(await sidewaysJpeg(80, 40))
      .autoOrient()
      .avif()
      .toBuffer();
    expect((await sharp(avif).metadata()).compression).toBe('av1');
    const { input, outputs } = await renderThumbnails(avif, THUMBS.slice(0, 1), options);
    expect(input).toMatchObject({ format: 'heif', width: 40, height: 80 });
    await expectUpright(outputs[0]?.body as Buffer, outputs[0]?.width ?? 0, outputs[0]?.height ?? 0);
  });
});
