/**
 * The thumbnail timings, in a process of their own. `time <jpeg> <reps> <convert>`: per repetition, the pipeline
 * (`renderThumbnails` with the default sizes and formats), its necessary libvips steps alone (one decode at the
 * shrink-on-load scale of the largest output, then each encode from those pixels) and ImageMagick making the same
 * outputs; then each format's encode cost at 1600 px and 320 px. `rss <jpeg>`: one pipeline run in this fresh
 * process, reporting its peak RSS. sharp's operation cache is off, so no repetition reuses another's work.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { encode, renderThumbnails, type ThumbnailSpec } from '../../functions/media/image.js';
import type { OutputFormat } from '../../shared/media-job.js';
import { runAsChild } from '../lib/child.js';
import { defaultSpecs, imageOptions, pipelineRss, timeMs } from '../lib/image-run.js';
import { median } from '../lib/stats.js';

const run = promisify(execFile);
sharp.cache(false);

const EXTENSION: Record<string, OutputFormat> = {
  'image/webp': 'webp',
  'image/jpeg': 'jpeg',
  'image/avif': 'avif',
  'image/png': 'png',
};
/** ImageMagick qualities matching the pipeline's encoders (png: zlib level 9). */
const MAGICK_QUALITY: Record<OutputFormat, string> = { webp: '80', jpeg: '82', avif: '50', png: '95' };
const ALL_FORMATS: OutputFormat[] = ['webp', 'jpeg', 'avif', 'png'];

export interface ThumbnailTimes {
  outputs: Array<{ size: string; format: OutputFormat }>;
  source: { width: number; height: number; bytes: number };
  pipelineMs: number;
  decodeMs: number;
  encodeMs: number[];
  idealMs: number;
  imageMagickMs: number;
  imageMagickCommand: string;
  /** Encode cost of each encoder from pixels already decoded to fit 1600 px, and the decode it is compared with. */
  formats: { decodeFor1600Ms: number; encoders: EncoderCost[] };
}

export interface EncoderCost {
  /** `webp`, `jpeg`, `avif`, `png` as the media function encodes them; others are alternatives weighed. */
  label: string;
  at1600Ms: number;
  at320Ms: number;
  /** Output size at 1600 px. */
  bytes1600: number;
}

const inside = (size: { width: number; height: number }) => ({
  ...size,
  fit: 'inside' as const,
  withoutEnlargement: true,
});

/** Decode once, shrunk on load to fit `box` (as libvips does for a JPEG), to raw pixels. */
function decode(source: Buffer, box: { width: number; height: number }) {
  return sharp(source).resize(inside(box)).raw().toBuffer({ resolveWithObject: true });
}

function resizedFrom(pixels: Awaited<ReturnType<typeof decode>>, size: { width: number; height: number }) {
  const { width, height, channels } = pixels.info;
  return sharp(pixels.data, { raw: { width, height, channels } }).resize(inside(size));
}

function encodeFrom(
  pixels: Awaited<ReturnType<typeof decode>>,
  size: { width: number; height: number },
  format: OutputFormat,
) {
  return encode(resizedFrom(pixels, size), format, false).toBuffer();
}

/** The media function's encoders, and alternatives the defaults were weighed against. */
const ENCODERS: Array<{ label: string; run: (image: Sharp) => Sharp }> = [
  ...ALL_FORMATS.map((format) => ({ label: format, run: (image: Sharp) => encode(image, format, false) })),
  { label: 'webp effort 2 (alternative)', run: (image: Sharp) => image.webp({ quality: 80, effort: 2 }) },
];

function magickArgs(source: string, specs: ThumbnailSpec[], workDir: string): string[] {
  // Largest first, each size resized from the previous one's pixels, every format written with -write.
  const sizes = [...new Map(specs.map((s) => [`${s.size.width}x${s.size.height}`, s.size])).values()].sort(
    (a, b) => b.width * b.height - a.width * a.height,
  );
  const args = [source, '-auto-orient', '-strip'];
  for (const size of sizes) {
    args.push('-resize', `${size.width}x${size.height}>`);
    for (const spec of specs.filter((s) => s.size.width === size.width && s.size.height === size.height)) {
      const format = EXTENSION[spec.contentType] as OutputFormat;
      args.push('-quality', MAGICK_QUALITY[format], '-write', join(workDir, `im-${size.width}.${format}`));
    }
  }
  return [...args, 'null:'];
}

async function times(file: string, reps: number, convert: string): Promise<ThumbnailTimes> {
  const source = await readFile(file);
  const meta = await sharp(source).metadata();
  const specs = defaultSpecs();
  const box = {
    width: Math.max(...specs.map((s) => s.size.width)),
    height: Math.max(...specs.map((s) => s.size.height)),
  };
  const workDir = await mkdtemp(join(tmpdir(), 'upcall-bench-thumb-'));
  const magick = magickArgs(file, specs, workDir);
  const samples = { pipeline: [] as number[], decode: [] as number[], magick: [] as number[] };
  const encodeSamples = specs.map(() => [] as number[]);
  try {
    // The first round warms libvips and the page cache and is not counted.
    for (let rep = -1; rep < reps; rep++) {
      const pipeline = await timeMs(() => renderThumbnails(source, specs, imageOptions(workDir)));
      let pixels: Awaited<ReturnType<typeof decode>> | undefined;
      const decodeMs = await timeMs(async () => {
        pixels = await decode(source, box);
      });
      const encodes: number[] = [];
      for (const spec of specs) {
        const format = EXTENSION[spec.contentType] as OutputFormat;
        encodes.push(await timeMs(() => encodeFrom(pixels!, spec.size, format)));
      }
      const magickMs = await timeMs(() => run(convert, magick));
      if (rep < 0) continue;
      samples.pipeline.push(pipeline);
      samples.decode.push(decodeMs);
      samples.magick.push(magickMs);
      for (const [i, ms] of encodes.entries()) encodeSamples[i]?.push(ms);
    }
    const encoders = ENCODERS.map(({ label }) => ({
      label,
      at1600Ms: Number.POSITIVE_INFINITY,
      at320Ms: Number.POSITIVE_INFINITY,
      bytes1600: 0,
    }));
    const decodeFor1600: number[] = [];
    // Best of up to three: the least disturbed by the machine's other work.
    for (let rep = 0; rep < Math.max(1, Math.min(reps, 3)); rep++) {
      let pixels: Awaited<ReturnType<typeof decode>> | undefined;
      decodeFor1600.push(
        await timeMs(async () => (pixels = await decode(source, { width: 1600, height: 1600 }))),
      );
      for (const [i, encoder] of ENCODERS.entries()) {
        const cost = encoders[i]!;
        let bytes = 0;
        const big = await timeMs(async () => {
          bytes = (await encoder.run(resizedFrom(pixels!, { width: 1600, height: 1600 })).toBuffer()).length;
        });
        const small = await timeMs(() =>
          encoder.run(resizedFrom(pixels!, { width: 320, height: 320 })).toBuffer(),
        );
        cost.at1600Ms = Math.min(cost.at1600Ms, big);
        cost.at320Ms = Math.min(cost.at320Ms, small);
        cost.bytes1600 = bytes;
      }
    }
    const decodeMs = median(samples.decode);
    const encodeMs = encodeSamples.map(median);
    return {
      outputs: specs.map((s) => ({
        size: `${s.size.width}x${s.size.height}`,
        format: EXTENSION[s.contentType] as OutputFormat,
      })),
      source: { width: meta.width ?? 0, height: meta.height ?? 0, bytes: source.length },
      pipelineMs: median(samples.pipeline),
      decodeMs,
      encodeMs,
      idealMs: decodeMs + encodeMs.reduce((sum, ms) => sum + ms, 0),
      imageMagickMs: median(samples.magick),
      imageMagickCommand: `convert ${magick.map((arg) => (arg.includes('>') ? `'${arg}'` : arg)).join(' ')}`
        .replaceAll(workDir, '<out>')
        .replaceAll(file, '<photo.jpg>'),
      formats: { decodeFor1600Ms: Math.min(...decodeFor1600), encoders },
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

runAsChild(async () => {
  const [mode, file, reps, convert] = process.argv.slice(2) as [string, string, string?, string?];
  if (mode === 'rss') return pipelineRss(file);
  return times(file, Number(reps ?? 3), convert ?? 'convert');
});
