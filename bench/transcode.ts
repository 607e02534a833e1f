/** The transcode of a 10 s 1080p clip: the media job against the same ffmpeg command by hand (see the worker). */
import { type Bench, table, verdict } from './lib/bench.js';
import { beside, runChild } from './lib/child.js';
import { CLIP_SECONDS } from './lib/media-fixtures.js';
import { median, round } from './lib/stats.js';
import type { TranscodeFigures } from './transcode/worker.js';

export const transcodeBench: Bench = {
  name: 'transcode',
  title: 'Transcode of a 10 s 1080p clip: the media job vs the same ffmpeg command by hand',
  async run(context) {
    const rounds = context.quick ? 1 : 3;
    const figures = await runChild<TranscodeFigures>(beside(import.meta.url, './transcode/worker.ts'), [
      context.scratch,
      String(rounds),
    ]);
    const jobMs = median(figures.jobMs);
    const handMs = median(figures.handMs);
    const handFileMs = median(figures.handFileMs);
    // Each job is paired with the hand run just before it, which saw the same machine: the median of the pairs.
    const overhead = median(figures.jobMs.map((ms, i) => ms / (figures.handMs[i] as number)));
    const realTime = CLIP_SECONDS * 1000;
    context.log(`  job ${Math.round(jobMs)} ms, by hand ${Math.round(handMs)} ms`);
    // JSON quoting where needed: the If-Match header value carries quotes and a CR LF.
    const quoted = figures.handArgs
      .map((arg) => (/[\s'"(),\\]/.test(arg) ? JSON.stringify(arg) : arg))
      .join(' ');
    const markdown = [
      `Clip: ${CLIP_SECONDS} s, 1920×1080, 30 fps, H.264/AAC (ffmpeg's moving test pattern with temporal grain at a camera's 16 Mbit/s, and a tone: ${round(figures.clipBytes / 1e6, 1)} MB). The job is the media function's handler on the local cloud — HEAD, lease, ffprobe and ffmpeg reading the source over a presigned URL from the local OSS, the poster and its thumbnails, uploads, the manifest. By hand: the job's own recorded transcode command, as it ran (input: a fresh presigned URL of the same object, served by the same local OSS) and on the local file; the difference between those two is what streaming the source from the (local) OSS costs, the stand-in's own CPU included. ffmpeg and ffprobe are the static builds of \`@ffmpeg-installer\`/\`@ffprobe-installer\` (FC's FFmpeg layer is static too; a distribution's dynamically linked build adds ~50 ms of start-up to each of the job's four tool runs). Unpinned (ffmpeg uses both cores); ${rounds} rounds after a first job, each a job and the same command by hand (in alternating order) and the command on the file; the table shows medians, the overhead is the median of each round's job ÷ the same command by hand.`,
      '',
      table(
        ['', 'ms', '× real time'],
        [
          ['media job (everything)', round(jobMs, 0), round(jobMs / realTime, 2)],
          [
            'its ffmpeg command by hand, same presigned-URL input',
            round(handMs, 0),
            round(handMs / realTime, 2),
          ],
          [
            'its ffmpeg command by hand, local file input',
            round(handFileMs, 0),
            round(handFileMs / realTime, 2),
          ],
        ],
      ),
      '',
      `Job steps (ms, mean): ${Object.entries(figures.steps)
        .map(([name, ms]) => `${name} ${Math.round(ms)}`)
        .join(', ')}.`,
      '',
      `Hand command: \`ffmpeg ${quoted}\`.`,
      '',
      `\`transcodeOverhead\` = ${round(overhead)}: ${verdict(overhead <= 1.1, '≤ 1.1')}.`,
    ].join('\n');
    return {
      summary: { transcodeOverhead: round(overhead) },
      details: { ...figures, jobMedianMs: jobMs, handMedianMs: handMs, realTimeMultiple: jobMs / realTime },
      markdown,
      tools: { ffmpeg: figures.ffmpeg },
    };
  },
};
