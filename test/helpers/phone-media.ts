/**
 * Media as phones make it, generated at test time with real encoders: HEIC by Debian's `heif-enc` (libheif with
 * x265; unlike ImageMagick it carries the source's EXIF and ICC profile into the file), HEVC `.mov` by ffmpeg with
 * libx265 (Debian's build, which `.ci/run` installs). Where no encoder writes what a phone writes — the `irot` box an
 * iPhone adds, a primary image that is not the first — a generated file is patched in place, box sizes unchanged.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { expect } from 'vitest';
import { type MediaTools, runTool } from '../../functions/media/ffmpeg.js';
import { BLUE, pixelAt, RED, solidPng } from './media.js';

const run = promisify(execFile);

/**
 * A JPEG whose stored pixels are red on top and blue below, tagged EXIF orientation 6 (turn 90° clockwise to
 * display) and Display P3: upright it is height×width, blue on the left and red on the right.
 */
export async function sidewaysJpeg(width: number, height: number): Promise<Buffer> {
  const lower = await solidPng(width, height / 2, BLUE);
  return sharp({ create: { width, height, channels: 3, background: RED } })
    .composite([{ input: lower, top: height / 2, left: 0 }])
    .withIccProfile('p3')
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Close to a colour, allowing for lossy coding at both ends. */
export function near(
  actual: { r: number; g: number; b: number },
  expected: { r: number; g: number; b: number },
) {
  const distance = Math.max(
    Math.abs(actual.r - expected.r),
    Math.abs(actual.g - expected.g),
    Math.abs(actual.b - expected.b),
  );
  expect(distance, JSON.stringify(actual)).toBeLessThan(40);
}

/** Upright means blue on the left and red on the right (see `sidewaysJpeg`). */
export async function expectUpright(image: Buffer, width: number, height: number) {
  near(await pixelAt(image, Math.floor(width * 0.2), Math.floor(height / 2)), BLUE);
  near(await pixelAt(image, Math.floor(width * 0.8), Math.floor(height / 2)), RED);
}

/** Encode images (JPEG or PNG) into one HEIC with `heif-enc`; the first is the primary image. */
export async function heifEnc(
  images: Buffer[],
  options: { bitDepth?: 8 | 10; args?: string[] } = {},
): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'upcall-heic-'));
  try {
    const inputs = await Promise.all(
      images.map(async (image, index) => {
        const { format } = await sharp(image).metadata();
        const path = join(dir, `in-${index}.${format === 'jpeg' ? 'jpg' : 'png'}`);
        await writeFile(path, image);
        return path;
      }),
    );
    const output = join(dir, 'out.heic');
    await run(
      'heif-enc',
      [
        ...['-q', '60', '-p', 'preset=ultrafast'],
        ...(options.bitDepth ? ['-b', String(options.bitDepth)] : []),
        ...(options.args ?? []),
        ...['-o', output],
        ...inputs,
      ],
      { timeout: 120_000 },
    );
    return await readFile(output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Offset of the first box of `type` (the 4 bytes after its size), searching the whole file. */
function boxAt(file: Buffer, type: string): number {
  const at = file.indexOf(type, 0, 'latin1');
  if (at < 4) throw new Error(`no ${type} box in the file`);
  return at;
}

/**
 * As an iPhone writes it: the container turns the stored landscape picture (`irot`, 270° anticlockwise) *and* EXIF
 * says orientation 6 for the same turn. heif-enc writes no `irot`, so its `pixi` property (16 bytes, associated with
 * the image) is overwritten with an `irot` box of the same size.
 */
export function withIrot(heic: Buffer, quarterTurnsAnticlockwise: number): Buffer {
  const patched = Buffer.from(heic);
  const type = boxAt(patched, 'pixi');
  if (patched.readUInt32BE(type - 4) !== 16) throw new Error('unexpected pixi box size');
  patched.write('irot', type, 'latin1');
  patched.fill(0, type + 4, type + 12);
  patched[type + 4] = quarterTurnsAnticlockwise;
  return patched;
}

/** Point `pitm` (the primary item) at another item id, as in a burst whose cover is not the first picture. */
export function withPrimaryItem(heic: Buffer, itemId: number): Buffer {
  const patched = Buffer.from(heic);
  const type = boxAt(patched, 'pitm');
  patched.writeUInt16BE(itemId, type + 8); // after type, version and flags
  return patched;
}

/** Claim a larger size in every `ispe` property than the coded pixels have: a decompression bomb's header. */
export function withClaimedSize(heic: Buffer, width: number, height: number): Buffer {
  const patched = Buffer.from(heic);
  for (
    let at = patched.indexOf('ispe', 0, 'latin1');
    at >= 0;
    at = patched.indexOf('ispe', at + 4, 'latin1')
  ) {
    patched.writeUInt32BE(width, at + 8);
    patched.writeUInt32BE(height, at + 12);
  }
  return patched;
}

export interface PhoneVideoOptions {
  width: number;
  height: number;
  seconds: number;
  /** Display rotation, clockwise, as a phone held upright writes it (the stored picture stays landscape). */
  rotate?: 0 | 90 | 180 | 270;
  tenBit?: boolean;
  /** HDR transfer, with BT.2020 primaries: HLG (`arib-std-b67`, iPhone's) or PQ (`smpte2084`). */
  hdr?: 'hlg' | 'pq';
  audio?: boolean;
  /** `vfr`: frames at irregular times (a third of a 30 fps clip's frames dropped unevenly). */
  frameRate?: 30 | 'vfr';
  /** Only this many frames (a very short clip). */
  frames?: number;
  /** Colours of the stored picture's top and bottom halves (ffmpeg colour syntax). */
  halves?: [string, string];
}

/** An iPhone held upright shooting HDR: 10-bit HLG HEVC, stored landscape 320×180, displayed turned 90° clockwise. */
export const UPRIGHT_HLG_CLIP: PhoneVideoOptions = {
  width: 320,
  height: 180,
  seconds: 1,
  rotate: 90,
  tenBit: true,
  hdr: 'hlg',
};

/**
 * A HEVC QuickTime movie as a phone records it: `hvc1`-tagged HEVC (8- or 10-bit, optionally HLG/PQ with BT.2020
 * colour), AAC audio, and the rotation as iPhones write it: a transformation matrix in the video track's `tkhd`.
 * (ffmpeg 5.1's `rotate` metadata writes the opposite turn of what older versions did, so the matrix is written
 * here by hand.) The stored picture is `width`×`height`, its top half light and its bottom half dark by default, so a
 * test can tell which way up it came out.
 */
export async function phoneMov(ffmpeg: string, path: string, options: PhoneVideoOptions): Promise<void> {
  const { width, height, seconds, rotate = 0, tenBit = false, hdr, audio = true, frameRate = 30 } = options;
  const [top, bottom] = options.halves ?? ['0xd0d0d0', '0x202020'];
  const half = `size=${width}x${height / 2}:rate=30:duration=${seconds}`;
  const vfr = frameRate === 'vfr' ? ",select='not(mod(n\\,3))+not(mod(n\\,7))',setpts=PTS" : '';
  const picture = `color=c=${top}:${half}[top];color=c=${bottom}:${half}[bottom];[top][bottom]vstack${vfr}`;
  const transfer = hdr === 'hlg' ? 'arib-std-b67' : 'smpte2084';
  const x265 = hdr
    ? `colorprim=bt2020:colormatrix=bt2020nc:transfer=${transfer}:log-level=error`
    : 'log-level=error';
  await runTool(
    ffmpeg,
    [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', picture],
      ...(audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`] : []),
      ...(options.frames ? ['-frames:v', String(options.frames)] : []),
      ...['-c:v', 'libx265', '-preset', 'ultrafast', '-tag:v', 'hvc1', '-x265-params', x265],
      ...['-pix_fmt', tenBit ? 'yuv420p10le' : 'yuv420p'],
      ...(hdr ? ['-color_primaries', 'bt2020', '-colorspace', 'bt2020nc', '-color_trc', transfer] : []),
      ...(frameRate === 'vfr' ? ['-vsync', 'vfr'] : []),
      ...(audio ? ['-c:a', 'aac', '-shortest'] : []),
      ...['-f', 'mov', path],
    ],
    { timeoutMs: 120_000 },
  );
  if (rotate) await writeFile(path, withTrackMatrix(await readFile(path), rotate, width, height));
}

/**
 * Set the first track's (the video's) `tkhd` matrix to a clockwise display rotation, as QuickTime writes it:
 * [a b u; c d v; x y w] in 16.16 fixed point (u, v, w in 2.30), mapping stored (p, q) to (a·p + c·q + x, b·p + d·q + y).
 */
export function withTrackMatrix(
  mov: Buffer,
  clockwise: 90 | 180 | 270,
  width: number,
  height: number,
): Buffer {
  const one = 0x10000;
  const matrices = {
    90: [0, one, 0, -one, 0, 0, height * one, 0, 0x40000000],
    180: [-one, 0, 0, 0, -one, 0, width * one, height * one, 0x40000000],
    270: [0, -one, 0, one, 0, 0, 0, width * one, 0x40000000],
  };
  const patched = Buffer.from(mov);
  const type = boxAt(patched, 'tkhd');
  // Version 0: version/flags, 5 × 32-bit fields, 8 reserved bytes, layer, group, volume, reserved, then the matrix.
  if (patched[type + 4] !== 0) throw new Error('expected a version 0 tkhd');
  const matrix = type + 4 + 4 + 20 + 8 + 8;
  matrices[clockwise].forEach((value, index) => {
    patched.writeInt32BE(value | 0, matrix + index * 4);
  });
  return patched;
}

let shipped: Promise<MediaTools> | undefined;
/** The static ffmpeg/ffprobe that `npm run build` ships to FC (the npm installer packages' binaries). */
export function shippedTools(): Promise<MediaTools> {
  shipped ??= Promise.all([import('@ffmpeg-installer/ffmpeg'), import('@ffprobe-installer/ffprobe')]).then(
    ([ffmpeg, ffprobe]) => ({
      ffmpeg: (ffmpeg as { default: { path: string } }).default.path,
      ffprobe: (ffprobe as { default: { path: string } }).default.path,
    }),
  );
  return shipped;
}
