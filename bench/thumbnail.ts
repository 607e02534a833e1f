/**
 * Thumbnails of 12 MP and 24 MP camera-like JPEGs with the default sizes and formats: the pipeline's time against its
 * necessary libvips steps timed alone (its overhead) and against ImageMagick making the same outputs, each format's
 * encode cost (what the defaults are chosen with), and the pipeline's peak RSS in a fresh process.
 */
import { type Bench, table, verdict } from './lib/bench.js';
import { beside, runChild } from './lib/child.js';
import type { PipelineRss } from './lib/image-run.js';
import { findImageMagick } from './lib/imagemagick.js';
import { CAMERA_SIZES, cameraJpeg } from './lib/media-fixtures.js';
import { round } from './lib/stats.js';
import type { ThumbnailTimes } from './thumbnail/worker.js';

const worker = beside(import.meta.url, './thumbnail/worker.ts');

export const thumbnailBench: Bench = {
  name: 'thumbnail',
  title: 'Thumbnails of camera JPEGs: overhead over libvips, vs ImageMagick, per-format cost, peak RSS',
  async run(context) {
    const convert = findImageMagick(context.log);
    const reps = context.quick ? 2 : 7;
    const results: Array<{ label: string; times: ThumbnailTimes; rss: PipelineRss }> = [];
    for (const { label, width, height } of CAMERA_SIZES) {
      const file = await cameraJpeg(context.scratch, width, height);
      const times = await runChild<ThumbnailTimes>(worker, ['time', file, String(reps), convert]);
      const rss = await runChild<PipelineRss>(worker, ['rss', file]);
      context.log(
        `  ${label}: pipeline ${round(times.pipelineMs, 1)} ms, steps alone ${round(times.idealMs, 1)} ms, ImageMagick ${round(times.imageMagickMs)} ms, peak RSS ${round(rss.peakMB)} MB`,
      );
      results.push({ label, times, rss });
    }
    const largest = results[results.length - 1]!;
    const overhead = largest.times.pipelineMs / largest.times.idealMs;
    const vsMagick = largest.times.imageMagickMs / largest.times.pipelineMs;
    const outputs = largest.times.outputs.map((o) => `${o.size} ${o.format}`).join(', ');
    const formatRows = results.flatMap(({ label, times }) => {
      const { decodeFor1600Ms, encoders } = times.formats;
      const webp = encoders.find((e) => e.label === 'webp');
      return encoders.map((e) => [
        label,
        e.label,
        round(e.at1600Ms, 1),
        round(e.at1600Ms / decodeFor1600Ms, 1),
        webp ? round(e.at1600Ms / webp.at1600Ms, 1) : '—',
        round(e.bytes1600 / 1000, 0),
        round(e.at320Ms, 1),
      ]);
    });
    const markdown = [
      `Default outputs: ${outputs} (\`UPCALL_THUMBNAIL_SIZES\`, \`UPCALL_THUMBNAIL_FORMATS\`). Sources: generated camera-like JPEGs (gradients, texture and patchy detail that survive a downscale, sensor-like noise; quality 90, EXIF). The headline figures are the 24 MP ones. Median of ${reps} rounds after a warm-up, sharp's cache off, unpinned (libvips and ImageMagick both use the 2 cores). "Steps alone" = one decode shrunk on load to the largest box + each encode from those pixels. Peak RSS: \`VmHWM\` (/proc) of a fresh process running the pipeline once; baseline = the same after loading node, tsx and sharp.`,
      '',
      table(
        [
          'Source',
          'pipeline ms',
          'steps alone ms (decode + encodes)',
          'overhead',
          'ImageMagick ms',
          'ImageMagick ÷ ours',
          'peak RSS MB (baseline)',
        ],
        results.map(({ label, times, rss }) => [
          `${label} (${round(times.source.bytes / 1e6, 1)} MB)`,
          round(times.pipelineMs, 1),
          `${round(times.idealMs, 1)} (${round(times.decodeMs, 1)} + ${times.encodeMs.map((ms) => round(ms, 1)).join(' + ')})`,
          round(times.pipelineMs / times.idealMs),
          round(times.imageMagickMs, 0),
          round(times.imageMagickMs / times.pipelineMs, 1),
          `${round(rss.peakMB, 0)} (${round(rss.baselineMB, 0)})`,
        ]),
      ),
      '',
      `ImageMagick: \`${largest.times.imageMagickCommand}\`.`,
      '',
      "Encode cost per format, from pixels already decoded (shrink-on-load) to fit 1600 px, with the media function's encoder settings (and an alternative weighed); best of 3:",
      '',
      table(
        ['Source', 'encoder', 'ms at 1600 px', '÷ the decode', '÷ WebP', 'KB at 1600 px', 'ms at 320 px'],
        formatRows,
      ),
      '',
      `24 MP: \`thumbnailOverhead\` = ${round(overhead)}: ${verdict(overhead <= 1.2, '≤ 1.2')}; \`thumbnailVsImageMagick\` = ${round(vsMagick, 1)}: ${verdict(vsMagick >= 3, '≥ 3')}; \`thumbnailPeakRssMB\` = ${round(largest.rss.peakMB, 0)}: ${verdict(largest.rss.peakMB < 300, '< 300 MB')}.`,
    ].join('\n');
    return {
      summary: {
        thumbnailOverhead: round(overhead),
        thumbnailVsImageMagick: round(vsMagick, 1),
        thumbnailPeakRssMB: round(largest.rss.peakMB, 0),
      },
      details: Object.fromEntries(results.map(({ label, times, rss }) => [label, { ...times, rss }])),
      markdown,
      tools: { convert },
    };
  },
};
