/** Media generated for tests: real encoders (sharp, ffmpeg), small sizes, known content. */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { expect } from 'vitest';
import { MediaFailure } from '../../functions/media/failure.js';
import { locateMediaTools, type MediaTools, runTool } from '../../functions/media/ffmpeg.js';
import type { VideoOptions } from '../../functions/media/video.js';

export const RED = { r: 255, g: 0, b: 0 };
export const BLUE = { r: 0, g: 0, b: 255 };

/** A PNG all of one colour. */
export function solidPng(width: number, height: number, background: string | typeof RED): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();
}

/** A square PNG of noise stored uncompressed (about 3 bytes a pixel): large, yet a real image to thumbnail. */
export function noisePng(side: number): Promise<Buffer> {
  return sharp({
    create: {
      width: side,
      height: side,
      channels: 3,
      background: '#000000',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

/**
 * A 400×200 JPEG whose stored pixels are red on top and blue below, tagged EXIF orientation 6 (display rotated 90°
 * clockwise): upright it is 200×400 with blue on the left and red on the right.
 */
export async function jpegWithOrientation6(): Promise<Buffer> {
  const half = (colour: typeof RED) => solidPng(400, 100, colour);
  return sharp({ create: { width: 400, height: 200, channels: 3, background: RED } })
    .composite([{ input: await half(BLUE), top: 100, left: 0 }])
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Copyright: 'upcall test', Artist: 'someone private' } })
    .toBuffer();
}

/** A Display P3 JPEG (wide-gamut phone photo) with EXIF to be stripped. */
export function displayP3Jpeg(): Promise<Buffer> {
  return sharp({ create: { width: 60, height: 40, channels: 3, background: '#ff2020' } })
    .withIccProfile('p3')
    .withExif({ IFD0: { Copyright: 'upcall test' } })
    .jpeg()
    .toBuffer();
}

/** 64×48, red at half opacity. */
export function translucentPng(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 4, background: { ...RED, alpha: 0.5 } } })
    .png()
    .toBuffer();
}

/** Three 80×60 frames (red, green, blue), 100 ms each, looping. */
export async function animatedGif(): Promise<Buffer> {
  const frames = await Promise.all(
    ['red', 'green', 'blue'].map((background) => solidPng(80, 60, background)),
  );
  return sharp(frames, { join: { animated: true } })
    .gif({ delay: [100, 100, 100], loop: 0 })
    .toBuffer();
}

export function onePixelPng(): Promise<Buffer> {
  return solidPng(1, 1, BLUE);
}

/** A valid 1×1 PNG whose header claims 100000×100000 pixels (10 gigapixels): a decompression bomb. */
export async function pngBomb(): Promise<Buffer> {
  const png = Buffer.from(await onePixelPng());
  // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); its CRC covers type + data (bytes 12–28).
  png.writeUInt32BE(100_000, 16);
  png.writeUInt32BE(100_000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

/** The first half of a JPEG: a header that parses, pixel data that ends early. */
export async function truncatedJpeg(): Promise<Buffer> {
  const jpeg = await sharp({
    create: {
      width: 300,
      height: 200,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .jpeg()
    .toBuffer();
  return jpeg.subarray(0, Math.floor(jpeg.length / 2));
}

let tools: Promise<MediaTools> | undefined;
export function testTools(): Promise<MediaTools> {
  tools ??= locateMediaTools({ ffmpeg: '', ffprobe: '' }, process.env);
  return tools;
}

/** `renderVideo`'s options as tests use them: the worker's ffmpeg, up to 720 lines, a minute for clip and work. */
export async function videoOptions(
  workDir: string,
  overrides: Partial<VideoOptions> = {},
): Promise<VideoOptions> {
  return {
    tools: await testTools(),
    maxLines: 720,
    maxDurationMs: 60_000,
    workDir,
    format: 'mov',
    deadline: Date.now() + 60_000,
    now: Date.now,
    ...overrides,
  };
}

/**
 * Run ffmpeg on generated sources: each of `sources` is a lavfi graph (`testsrc=…`, `sine=…`), `output` the rest of
 * the command line, ending with the file written. `ffmpeg` picks a build (default: the one the worker finds).
 */
export async function synthesize(sources: string[], output: string[], ffmpeg?: string): Promise<void> {
  await runTool(
    ffmpeg ?? (await testTools()).ffmpeg,
    [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
      ...sources.flatMap((graph) => ['-f', 'lavfi', '-i', graph]),
      ...output,
    ],
    { timeoutMs: 30_000 },
  );
}

/** An MP4 (H.264 + AAC) of ffmpeg's test pattern and a 440 Hz tone; `noise` makes it hard to compress (bigger). */
export async function generateVideo(
  path: string,
  options: { width?: number; height?: number; seconds?: number; audio?: boolean; noise?: boolean } = {},
): Promise<void> {
  const { width = 320, height = 240, seconds = 3, audio = true, noise = false } = options;
  await synthesize(
    [
      `testsrc=size=${width}x${height}:rate=15:duration=${seconds}`,
      ...(audio ? [`sine=frequency=440:duration=${seconds}`] : []),
    ],
    [
      ...(noise ? ['-vf', 'noise=alls=80:allf=t+u'] : []),
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...(audio ? ['-c:a', 'aac', '-shortest'] : []),
      path,
    ],
  );
}

/** An audio-only M4A. */
export async function generateAudio(path: string): Promise<void> {
  await synthesize(['sine=frequency=440:duration=1'], ['-c:a', 'aac', path]);
}

export interface ProbedFile {
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>;
  format: { format_name: string; duration: string };
}

export async function ffprobe(path: string): Promise<ProbedFile> {
  const { ffprobe: binary } = await testTools();
  const out = await runTool(
    binary,
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path],
    {
      timeoutMs: 20_000,
      captureStdout: true,
    },
  );
  return JSON.parse(out) as ProbedFile;
}

/** Top-level MP4 box types in file order (faststart puts `moov` before `mdat`). */
export function topLevelBoxes(mp4: Buffer): string[] {
  const boxes: string[] = [];
  let offset = 0;
  while (offset + 8 <= mp4.length) {
    let size = mp4.readUInt32BE(offset);
    const type = mp4.toString('latin1', offset + 4, offset + 8);
    if (size === 1) size = Number(mp4.readBigUInt64BE(offset + 8));
    if (size < 8) break;
    boxes.push(type);
    offset += size;
  }
  return boxes;
}

/** The RGB of the pixel at (x, y) of an encoded image. */
export async function pixelAt(
  image: Buffer,
  x: number,
  y: number,
): Promise<{ r: number; g: number; b: number }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return { r: data[at] ?? -1, g: data[at + 1] ?? -1, b: data[at + 2] ?? -1 };
}

/** A stand-in for ffmpeg or ffprobe: a shell script that behaves as the real tool would on some crafted bytes. */
export async function fakeTool(dir: string, name: string, script: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
  return path;
}

/**
 * A GIF of `frames` frames of `side`×`side`: small by bytes and pixels, huge by frames. 100,000 of 2×2 are 2.5 MB
 * and 0.4 MP; 20,000 of 32×32 are 3.3 MB and 20 MP, and take sharp about 13 s to render (2 vCPU, shared).
 */
export async function frameBombGif(dir: string, frames: number, side = 2): Promise<Buffer> {
  const path = join(dir, `frames-${frames}-${side}.gif`);
  await synthesize(
    [`testsrc=size=${side}x${side}:rate=100`],
    ['-frames:v', String(frames), '-f', 'gif', path],
  );
  return readFile(path);
}

/** The MediaFailure `promise` rejects with (a test fails if it resolves or rejects with anything else). */
export async function failureOf(promise: Promise<unknown>): Promise<MediaFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MediaFailure);
  return error as MediaFailure;
}
