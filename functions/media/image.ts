/**
 * The image pipeline (sharp). The source is decoded once — oriented by its EXIF tag and shrunk to the largest planned
 * box — into a working copy in libvips' own format on local disk, which keeps the colour profile and the frames of an
 * animation; every thumbnail is then derived from that copy (memory-mapped, so further reads cost no decode).
 * Metadata is stripped from outputs except the colour profile, so wide-gamut photos keep their colours.
 */
import { join } from 'node:path';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import type { OutputFormat, ThumbnailSize } from '../../shared/media-job.js';
import { MediaFailure } from './failure.js';
import { decodeHeic, needsHeicDecoder } from './heic.js';

export interface ImageOptions {
  /** Largest source accepted, all frames counted (`UPCALL_IMAGE_MAX_PIXELS`): the total work of an animation. */
  maxPixels: number;
  /**
   * Most frames of an animation decoded (`UPCALL_IMAGE_MAX_FRAMES`). Decoding cost grows faster than the frame count,
   * and tiny frames pass the pixel limit: 100,000 frames of 2×2 are 0.4 MP in a 2.5 MB GIF.
   */
  maxFrames: number;
  /** Animated GIF/WebP sources give animated WebP outputs (`UPCALL_IMAGE_KEEP_ANIMATION`). */
  keepAnimation: boolean;
  /** A private scratch folder for the working copy. */
  workDir: string;
}

export interface ThumbnailSpec {
  key: string;
  contentType: string;
  size: ThumbnailSize;
}

export interface RenderedImage {
  key: string;
  contentType: string;
  body: Buffer;
  width: number;
  height: number;
  /** Frames of an animated output; absent for stills. */
  frames?: number;
}

export interface ImageInfo {
  format: string;
  /** As displayed, i.e. after EXIF orientation. */
  width: number;
  height: number;
  frames: number;
}

const FORMAT_OF_TYPE: Record<string, OutputFormat> = {
  'image/webp': 'webp',
  'image/jpeg': 'jpeg',
  'image/avif': 'avif',
  'image/png': 'png',
};

/** Formats an animation can be written in (of the ones upcall produces). */
const ANIMATED_OUTPUTS = new Set<OutputFormat>(['webp']);
const ANIMATED_INPUTS = new Set(['gif', 'webp']);

/** The instance's trouble, not the image's: retrying (maybe on another instance) can succeed. */
const ENVIRONMENT_ERROR = /No space left|ENOSPC|EMFILE|out of memory/i;

/** The failure to record, in upcall's own words; libvips' message stays on `cause`, for the log. */
function classify(error: unknown, what: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (ENVIRONMENT_ERROR.test(message)) return error instanceof Error ? error : new Error(message);
  if (/unsupported image format/i.test(message)) {
    return new MediaFailure('UnsupportedMedia', `${what}: not an image format the worker decodes`, {
      cause: error,
    });
  }
  if (/pixel limit/i.test(message)) {
    return new MediaFailure('TooManyPixels', `${what}: more pixels than the limit`, { cause: error });
  }
  return new MediaFailure('CorruptMedia', `${what}: the image data is corrupt or truncated`, {
    cause: error,
  });
}

/** The encoder settings of each output format (exported for the benchmarks, which time each format alone). */
export function encode(image: Sharp, format: OutputFormat, hasAlpha: boolean): Sharp {
  switch (format) {
    case 'webp':
      return image.webp({ quality: 80 });
    case 'jpeg':
      // JPEG has no alpha: composite transparent areas on white rather than sharp's default black.
      return (hasAlpha ? image.flatten({ background: '#ffffff' }) : image).jpeg({
        quality: 82,
        mozjpeg: true,
      });
    case 'avif':
      // AVIF encoding is the slowest step by far; effort 2 keeps it affordable at a small size cost.
      return image.avif({ quality: 50, effort: 2 });
    case 'png':
      return image.png({ compressionLevel: 9 });
  }
}

/** Read the header only: dimensions, frames and format, without decoding pixels. */
async function readHeader(source: Buffer | string): Promise<Metadata> {
  try {
    // The pixel limit is enforced below with every frame counted, so the header read itself is unlimited.
    return await sharp(source, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw classify(error, 'cannot read the image');
  }
}

/**
 * Render every thumbnail of `outputs` from one source image. Throws `MediaFailure` for inputs that can never
 * render; trouble of the instance itself (disk full) propagates as a transient error.
 */
export async function renderThumbnails(
  source: Buffer,
  outputs: ThumbnailSpec[],
  options: ImageOptions,
): Promise<{ input: ImageInfo; outputs: RenderedImage[] }> {
  let header = await readHeader(source);
  const format = header.format ?? 'unknown';
  // HEIC (HEVC in HEIF) is decoded by heic.ts into a file sharp reads; every other format is sharp's own.
  let decodable: Buffer | string = source;
  if (needsHeicDecoder(header)) {
    decodable = (await decodeHeic(source, join(options.workDir, 'heic.tif'), options.maxPixels)).path;
    header = await readHeader(decodable);
  }
  const pages = header.pages ?? 1;
  const animated = options.keepAnimation && pages > 1 && ANIMATED_INPUTS.has(format);
  if (animated && pages > options.maxFrames) {
    throw new MediaFailure(
      'TooManyFrames',
      `the animation has ${pages} frames, over the limit of ${options.maxFrames}`,
    );
  }
  const width = header.width ?? 0;
  const height = header.height ?? 0;
  const pixels = width * height * (animated ? pages : 1);
  if (pixels > options.maxPixels) {
    throw new MediaFailure(
      'TooManyPixels',
      `the image is ${width}×${height}${animated ? ` × ${pages} frames` : ''} = ${pixels} pixels, over the limit of ${options.maxPixels}`,
    );
  }
  const input: ImageInfo = {
    format,
    width: header.autoOrient?.width ?? width,
    height: header.autoOrient?.height ?? height,
    frames: animated ? pages : 1,
  };
  if (outputs.length === 0) return { input, outputs: [] };

  // The working copy is as large as the largest output can be: fitting inside the union of all boxes.
  const box = {
    width: Math.max(...outputs.map((output) => output.size.width)),
    height: Math.max(...outputs.map((output) => output.size.height)),
  };
  const workingCopy = join(options.workDir, 'working.v');
  // A CMYK profile cannot travel with RGB pixels: those are converted to sRGB instead (sharp's default).
  const keepProfile = header.space !== 'cmyk';
  let working: OutputInfo;
  try {
    // A multi-image HEIF (AVIF here) shows its primary image, which need not be the first.
    const page = format === 'heif' ? header.pagePrimary : undefined;
    const decoder = sharp(decodable, { animated, page, limitInputPixels: options.maxPixels, failOn: 'error' })
      .autoOrient()
      .resize({ ...box, fit: 'inside', withoutEnlargement: true });
    working = await (keepProfile ? decoder.keepIccProfile() : decoder).toFile(workingCopy);
  } catch (error) {
    throw classify(error, 'cannot decode the image');
  }
  // An animation is stored as a strip of frames; a still output takes the first one.
  const firstFrame = { left: 0, top: 0, width: working.width, height: working.pageHeight ?? working.height };

  const rendered: RenderedImage[] = [];
  for (const output of outputs) {
    const outputFormat = FORMAT_OF_TYPE[output.contentType];
    if (!outputFormat) throw new Error(`no encoder for ${output.contentType} (${output.key})`);
    const moving = animated && ANIMATED_OUTPUTS.has(outputFormat);
    try {
      // The working copy is ours and no larger than the source, which passed the pixel limit.
      const frames = sharp(workingCopy, { animated: moving, limitInputPixels: false });
      const resized = (animated && !moving ? frames.extract(firstFrame) : frames)
        .resize({ ...output.size, fit: 'inside', withoutEnlargement: true })
        .keepIccProfile();
      const { data, info } = await encode(resized, outputFormat, header.hasAlpha ?? false).toBuffer({
        resolveWithObject: true,
      });
      rendered.push({
        key: output.key,
        contentType: output.contentType,
        body: data,
        width: info.width,
        height: moving ? (info.pageHeight ?? info.height) : info.height,
        ...(moving && (info.pages ?? 1) > 1 ? { frames: info.pages } : {}),
      });
    } catch (error) {
      throw classify(error, `cannot encode ${output.key}`);
    }
  }
  return { input, outputs: rendered };
}
