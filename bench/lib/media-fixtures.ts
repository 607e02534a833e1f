/**
 * Camera-like media for the benchmarks, generated (nothing downloaded): JPEGs with smooth gradients, fine detail and
 * sensor-like noise, quality 90 with EXIF as a camera writes it; the same pictures as HEIC; and a 10 s 1080p
 * H.264/AAC clip.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { locateMediaTools, runTool } from '../../functions/media/ffmpeg.js';

/** A deterministic pseudo-random sequence (xorshift32), so every run benchmarks the same bytes. */
function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

const PATCH = 8;

/**
 * Raw RGB: smooth gradients and soft shapes (drawn at 1/8 scale and enlarged, as optics blur), texture and patchy
 * detail that survive a downscale, and ±12 levels of per-pixel noise (sensor grain, which makes camera JPEGs large).
 */
async function cameraPixels(width: number, height: number): Promise<Buffer> {
  const smallWidth = Math.ceil(width / 8);
  const smallHeight = Math.ceil(height / 8);
  const small = Buffer.alloc(smallWidth * smallHeight * 3);
  for (let y = 0; y < smallHeight; y++) {
    const v = y / smallHeight;
    for (let x = 0; x < smallWidth; x++) {
      const u = x / smallWidth;
      const shape = Math.sin(u * 9 + Math.cos(v * 7) * 2) * Math.cos(v * 11 - u * 3);
      const at = (y * smallWidth + x) * 3;
      small[at] = clamp(60 + 150 * u + 40 * shape);
      small[at + 1] = clamp(90 + 100 * v + 50 * shape);
      small[at + 2] = clamp(200 - 140 * u * v + 30 * shape);
    }
  }
  const pixels = await sharp(small, { raw: { width: smallWidth, height: smallHeight, channels: 3 } })
    .resize(width, height, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  const random = xorshift(width * 31 + height);
  const column = Float64Array.from({ length: width }, (_, x) => Math.sin(x * 0.35) * 10);
  // Detail that survives a thumbnail's downscale (foliage, fabric, text): ±28 levels per 8×8 patch.
  const patchesPerRow = Math.ceil(width / PATCH);
  const patches = Float64Array.from(
    { length: patchesPerRow * Math.ceil(height / PATCH) },
    () => (random() - 0.5) * 56,
  );
  for (let y = 0; y < height; y++) {
    const row = Math.sin(y * 0.27);
    const patchRow = Math.floor(y / PATCH) * patchesPerRow;
    for (let x = 0; x < width; x++) {
      const texture = (column[x] as number) * row + (patches[patchRow + Math.floor(x / PATCH)] as number);
      const at = (y * width + x) * 3;
      for (let channel = 0; channel < 3; channel++) {
        const value = (pixels[at + channel] as number) + (channel === 1 ? -texture : texture);
        pixels[at + channel] = clamp(value + (random() - 0.5) * 24);
      }
    }
  }
  return pixels;
}

function clamp(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}

/** A `width`×`height` camera-like JPEG (quality 90, EXIF), made once into `dir`. */
export async function cameraJpeg(dir: string, width: number, height: number): Promise<string> {
  const file = join(dir, `camera-${width}x${height}.jpg`);
  if (existsSync(file)) return file;
  await sharp(await cameraPixels(width, height), { raw: { width, height, channels: 3 } })
    .withExif({
      IFD0: {
        Make: 'upcall',
        Model: 'bench camera',
        Software: 'upcall bench',
        DateTime: '2025:11:21 09:00:00',
      },
    })
    .jpeg({ quality: 90 })
    .toFile(file);
  return file;
}

/**
 * The camera JPEG's pixels as a phone's HEIC, made once into `dir` by Debian's `heif-enc` (libheif with x265, which
 * `.ci/run` installs: `libheif-examples`): 4:2:0, EXIF carried over, quality 50 with x265's `ultrafast` preset —
 * 2.4 MB at 12 MP, about an iPhone's size for the same picture, and quick to make at 48 MP.
 */
export async function cameraHeic(dir: string, width: number, height: number): Promise<string> {
  const file = join(dir, `camera-${width}x${height}.heic`);
  if (existsSync(file)) return file;
  const jpeg = await cameraJpeg(dir, width, height);
  await promisify(execFile)('heif-enc', ['-q', '50', '-p', 'preset=ultrafast', '-o', file, jpeg], {
    timeout: 300_000,
  });
  return file;
}

/** The two sizes the thumbnail benchmark uses: 12 MP (4000×3000) and 24 MP (6000×4000). */
export const CAMERA_SIZES = [
  { label: '12 MP', width: 4000, height: 3000 },
  { label: '24 MP', width: 6000, height: 4000 },
] as const;

/** Length of the transcode benchmark's clip. */
export const CLIP_SECONDS = 10;

/**
 * A camera-like 1920×1080 30 fps H.264/AAC clip, made once into `dir`: ffmpeg's moving test pattern with temporal
 * grain, at a phone camera's 16 Mbit/s — not the bare test pattern, which x264 encodes so easily that a transcode
 * would take a fraction of a real one.
 */
export async function clip1080p(dir: string, seconds = CLIP_SECONDS): Promise<string> {
  const file = join(dir, `clip-1080p-${seconds}s.mp4`);
  if (existsSync(file)) return file;
  const { ffmpeg } = await locateMediaTools({ ffmpeg: '', ffprobe: '' }, process.env);
  await runTool(
    ffmpeg,
    [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${seconds}`],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`],
      ...['-vf', 'noise=alls=6:allf=t', '-pix_fmt', 'yuv420p'],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '16M', '-maxrate', '16M', '-bufsize', '32M'],
      ...['-c:a', 'aac', '-shortest', file],
    ],
    { timeoutMs: 180_000 },
  );
  return file;
}
