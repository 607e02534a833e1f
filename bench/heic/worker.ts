/**
 * HEIC against JPEG of the same pixels, in a process of its own. `time <jpeg> <heic> <reps>`: per repetition, in
 * alternating order, each file decoded to full-size raw pixels (HEIC: libheif's WebAssembly decode into the TIFF
 * handed to sharp, then sharp reading it; JPEG: sharp alone) and the whole thumbnail pipeline (`renderThumbnails`
 * with the default sizes and formats). `rss <file>`: one pipeline run in this fresh process, reporting its peak RSS.
 * sharp's operation cache is off, so no repetition reuses another's work.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeHeic } from '../../functions/media/heic.js';
import { renderThumbnails } from '../../functions/media/image.js';
import { runAsChild } from '../lib/child.js';
import { defaultSpecs, imageOptions, pipelineRss, timeMs } from '../lib/image-run.js';
import { median } from '../lib/stats.js';

sharp.cache(false);

export interface HeicTimes {
  source: { width: number; height: number; jpegBytes: number; heicBytes: number };
  /** Full-size decode to raw pixels (medians). */
  jpegDecodeMs: number;
  heicDecodeMs: number;
  /** The part of `heicDecodeMs` spent in libheif (WebAssembly) writing the TIFF. */
  heicWasmMs: number;
  /** The default thumbnails, end to end (medians). */
  jpegPipelineMs: number;
  heicPipelineMs: number;
}

const toRaw = (input: Buffer | string) => sharp(input, { limitInputPixels: false }).raw().toBuffer();

async function times(jpegFile: string, heicFile: string, reps: number): Promise<HeicTimes> {
  const jpeg = await readFile(jpegFile);
  const heic = await readFile(heicFile);
  const meta = await sharp(jpeg).metadata();
  const specs = defaultSpecs();
  const workDir = await mkdtemp(join(tmpdir(), 'upcall-bench-heic-'));
  const tiff = join(workDir, 'decoded.tif');
  const samples = {
    jpegDecode: [] as number[],
    heicDecode: [] as number[],
    heicWasm: [] as number[],
    jpegPipeline: [] as number[],
    heicPipeline: [] as number[],
  };
  const measure = {
    jpegDecode: () => timeMs(() => toRaw(jpeg)),
    heicDecode: async () => {
      let wasm = 0;
      const total = await timeMs(async () => {
        wasm = await timeMs(() => decodeHeic(heic, tiff, imageOptions(workDir).maxPixels));
        await toRaw(tiff);
      });
      samples.heicWasm.push(wasm);
      return total;
    },
    jpegPipeline: () => timeMs(() => renderThumbnails(jpeg, specs, imageOptions(workDir))),
    heicPipeline: () => timeMs(() => renderThumbnails(heic, specs, imageOptions(workDir))),
  };
  try {
    // The first round warms libvips, the WebAssembly compiler and the page cache and is not counted.
    for (let rep = -1; rep < reps; rep++) {
      // Alternate which format goes first, so neither always follows the other's garbage.
      const order = rep % 2 === 0 ? (['jpeg', 'heic'] as const) : (['heic', 'jpeg'] as const);
      for (const step of ['Decode', 'Pipeline'] as const) {
        for (const format of order) {
          const name = `${format}${step}` as const;
          const ms = await measure[name]();
          if (rep >= 0) samples[name].push(ms);
        }
      }
    }
    // The warm-up's wasm timing is the first one.
    samples.heicWasm.shift();
    return {
      source: {
        width: meta.width ?? 0,
        height: meta.height ?? 0,
        jpegBytes: jpeg.length,
        heicBytes: heic.length,
      },
      jpegDecodeMs: median(samples.jpegDecode),
      heicDecodeMs: median(samples.heicDecode),
      heicWasmMs: median(samples.heicWasm),
      jpegPipelineMs: median(samples.jpegPipeline),
      heicPipelineMs: median(samples.heicPipeline),
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

runAsChild(async () => {
  const [mode, first, second, reps] = process.argv.slice(2) as [string, string, string?, string?];
  if (mode === 'rss') return pipelineRss(first);
  return times(first, second ?? '', Number(reps ?? 3));
});
