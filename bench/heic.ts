/**
 * HEIC stills against JPEGs of the same pixels: the full-size decode (libheif in WebAssembly, then sharp, vs sharp's
 * libjpeg-turbo) and the thumbnail pipeline at 12 MP, side by side in one process; peak RSS of the pipeline on each
 * format at 12 MP and 48 MP, each in a fresh process.
 */
import type { HeicTimes } from './heic/worker.js';
import { type Bench, table } from './lib/bench.js';
import { beside, runChild } from './lib/child.js';
import type { PipelineRss } from './lib/image-run.js';
import { cameraHeic, cameraJpeg } from './lib/media-fixtures.js';
import { round } from './lib/stats.js';

const worker = beside(import.meta.url, './heic/worker.ts');

const SIZES = [
  { label: '12 MP', width: 4000, height: 3000 },
  { label: '48 MP', width: 8000, height: 6000 },
] as const;

export const heicBench: Bench = {
  name: 'heic',
  title:
    'HEIC stills vs JPEG of the same pixels: decode and thumbnail time at 12 MP, peak RSS at 12 and 48 MP',
  async run(context) {
    const reps = context.quick ? 2 : 7;
    const files = [];
    for (const size of SIZES) {
      files.push({
        ...size,
        jpeg: await cameraJpeg(context.scratch, size.width, size.height),
        heic: await cameraHeic(context.scratch, size.width, size.height),
      });
    }
    const twelve = files[0]!;
    const times = await runChild<HeicTimes>(worker, ['time', twelve.jpeg, twelve.heic, String(reps)]);
    const rss: Array<{ label: string; jpeg: PipelineRss; heic: PipelineRss }> = [];
    for (const file of files) {
      rss.push({
        label: file.label,
        jpeg: await runChild<PipelineRss>(worker, ['rss', file.jpeg]),
        heic: await runChild<PipelineRss>(worker, ['rss', file.heic]),
      });
    }
    const decodeRatio = times.heicDecodeMs / times.jpegDecodeMs;
    const pipelineRatio = times.heicPipelineMs / times.jpegPipelineMs;
    context.log(
      `  12 MP decode: HEIC ${round(times.heicDecodeMs)} ms vs JPEG ${round(times.jpegDecodeMs)} ms (${round(decodeRatio, 1)}×); pipeline ${round(pipelineRatio, 1)}×`,
    );
    const mb = (bytes: number) => round(bytes / 1e6, 1);
    const markdown = [
      `Sources: the thumbnail benchmark's generated camera-like JPEG (quality 90) and the same pixels as HEIC by Debian's \`heif-enc\` (libheif ${'1.15'} with x265: 4:2:0, quality 50, \`preset=ultrafast\`; one coded image, where an iPhone writes a grid of 512×512 tiles). 12 MP = 4000×3000: JPEG ${mb(times.source.jpegBytes)} MB, HEIC ${mb(times.source.heicBytes)} MB. Timings: one process, sharp's cache off, median of ${reps} rounds after a warm-up, the two formats alternating which goes first; unpinned (libvips uses both cores; libheif's WebAssembly one). "Decode" = the whole picture to raw RGB at full size (HEIC: libheif decodes into the uncompressed TIFF the pipeline hands to sharp, then sharp reads it); "pipeline" = \`renderThumbnails\` with the default outputs, where a JPEG also gains libjpeg's shrink-on-load, which HEVC has no equivalent of.`,
      '',
      table(
        ['12 MP', 'JPEG ms', 'HEIC ms', 'HEIC ÷ JPEG'],
        [
          [
            'decode to full-size pixels',
            round(times.jpegDecodeMs, 0),
            `${round(times.heicDecodeMs, 0)} (libheif ${round(times.heicWasmMs, 0)})`,
            round(decodeRatio, 1),
          ],
          [
            'thumbnail pipeline (default outputs)',
            round(times.jpegPipelineMs, 0),
            round(times.heicPipelineMs, 0),
            round(pipelineRatio, 1),
          ],
        ],
      ),
      '',
      "Peak RSS: `VmHWM` (/proc) of a fresh process running the pipeline once; baseline = the same after loading node, tsx, sharp and the media modules (libheif's WebAssembly is compiled on first use, so it is not in the baseline). Each HEIC decode gets a fresh WebAssembly instance holding the file, the decoded planes and the RGB image; it is dropped after the decode.",
      '',
      table(
        ['Source', 'JPEG peak RSS MB', 'HEIC peak RSS MB', 'baseline MB', 'HEIC pipeline ms (one run)'],
        rss.map(({ label, jpeg, heic }) => [
          label,
          round(jpeg.peakMB, 0),
          round(heic.peakMB, 0),
          round(heic.baselineMB, 0),
          round(heic.pipelineMs, 0),
        ]),
      ),
    ].join('\n');
    return {
      summary: {
        heicDecodeVsJpeg: round(decodeRatio, 1),
        heicPipelineVsJpeg: round(pipelineRatio, 1),
        heicPeakRssMB: Object.fromEntries(rss.map(({ label, heic }) => [label, round(heic.peakMB, 0)])),
      },
      details: { times, rss },
      markdown,
    };
  },
};
