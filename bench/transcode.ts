/** The transcode of a 10 s 1080p clip: the media job against the same ffmpeg command by hand (see the worker). */
import { type Bench, table, verdict } from './lib/bench.js';
import { beside, runChild } from './lib/child.js';
import { CLIP_SECONDS } from './lib/media-fixtures.js';
import { mean, round } from './lib/stats.js';
import type { TranscodeFigures } from './transcode/worker.js';

export const transcodeBench: Bench = {
  name: 'transcode',
  title: 'Transcode of a 10 s 1080p clip: the media job vs the same ffmpeg command by hand',
  async run(context) {
    const rounds = context.quick ? 1 : 2;
    const figures = await runChild<TranscodeFigures>(beside(import.meta.url, './transcode/worker.ts'), [
      context.scratch,
      String(rounds),
    ]);
    const jobMs = mean(figures.jobMs);
    const handMs = mean(figures.handMs);
    const overhead = jobMs / handMs;
    const realTime = CLIP_SECONDS * 1000;
    context.log(`  job ${Math.round(jobMs)} ms, by hand ${Math.round(handMs)} ms`);
    const quoted = figures.handArgs.map((arg) => (/[\s'(),\\]/.test(arg) ? `"${arg}"` : arg)).join(' ');
    const markdown = [
      `Clip: ${CLIP_SECONDS} s, 1920×1080, 30 fps, H.264/AAC (ffmpeg's test pattern and a tone, ${round(figures.clipBytes / 1e6, 1)} MB). The job is the media function's handler on the local cloud — HEAD, lease, ffprobe and ffmpeg reading the source over a presigned URL from the local OSS, the poster and its thumbnails, uploads, the manifest; the hand run is the job's own recorded transcode command on the local file. Unpinned (ffmpeg uses both cores); ${rounds} alternating round(s) after a first job, averaged.`,
      '',
      table(
        ['', 'ms', '× real time'],
        [
          ['media job (everything)', round(jobMs, 0), round(jobMs / realTime, 2)],
          ['ffmpeg transcode by hand', round(handMs, 0), round(handMs / realTime, 2)],
        ],
      ),
      '',
      `Job steps (ms): ${Object.entries(figures.steps)
        .map(([name, ms]) => `${name} ${Math.round(ms)}`)
        .join(', ')}.`,
      '',
      `Hand command: \`ffmpeg ${quoted}\`.`,
      '',
      `\`transcodeOverhead\` = ${round(overhead)}: ${verdict(overhead <= 1.1, '≤ 1.1')}.`,
    ].join('\n');
    return {
      summary: { transcodeOverhead: round(overhead) },
      details: { ...figures, jobMeanMs: jobMs, handMeanMs: handMs, realTimeMultiple: jobMs / realTime },
      markdown,
      tools: { ffmpeg: figures.ffmpeg },
    };
  },
};
