/** End to end on the local stack: 12 MP JPEG upload → callback answer → thumbnails ready (see the worker). */

import type { E2eFigures } from './e2e/worker.js';
import { type Bench, table, verdict } from './lib/bench.js';
import { beside, runChild } from './lib/child.js';
import { cameraJpeg } from './lib/media-fixtures.js';
import { median, percentile, round } from './lib/stats.js';

export const e2eBench: Bench = {
  name: 'e2e',
  title: 'Upload → callback answer → thumbnails ready, 12 MP JPEGs on the dev stack',
  async run(context) {
    const uploads = context.quick ? 3 : 10;
    const photo = await cameraJpeg(context.scratch, 4000, 3000);
    const figures = await runChild<E2eFigures>(beside(import.meta.url, './e2e/worker.ts'), [
      context.scratch,
      photo,
      String(uploads),
    ]);
    const ready = figures.samples.map((s) => s.readyMs);
    const answered = figures.samples.map((s) => s.callbackAnswerMs);
    const stepNames = Object.keys(figures.samples[0]?.steps ?? {});
    const p50 = median(ready);
    context.log(`  ready p50 ${Math.round(p50)} ms, callback answer p50 ${Math.round(median(answered))} ms`);
    const markdown = [
      `\`startDevStack\` in one process (local OSS, STS and FC, the token and callback functions over HTTP, the media function in the local FC; default thumbnail settings); ${uploads} sequential uploads of a ${round(figures.photoBytes / 1e6, 1)} MB 12 MP JPEG by ali-oss with the token's callback, after one warm-up upload. Ready = the job's manifest readable (polled every 20 ms). Unpinned.`,
      '',
      table(
        ['', 'p50 ms', 'p90 ms', 'max ms'],
        [
          [
            'PutObject → callback answered (ali-oss resolves)',
            round(median(answered), 0),
            round(percentile(answered, 90), 0),
            round(Math.max(...answered), 0),
          ],
          [
            'PutObject → thumbnails ready',
            round(p50, 0),
            round(percentile(ready, 90), 0),
            round(Math.max(...ready), 0),
          ],
          ['queued → worker started', round(median(figures.samples.map((s) => s.queuedMs)), 0), '', ''],
          ...stepNames.map((name) => [
            `worker step: ${name}`,
            round(median(figures.samples.map((s) => s.steps[name] ?? 0)), 0),
            '',
            '',
          ]),
          ['token request (before the upload, not counted)', round(median(figures.tokenMs), 0), '', ''],
        ],
      ),
      '',
      `\`e2eP50Ms\` = ${round(p50, 0)}: ${verdict(p50 < 2000, '< 2000 ms')}.`,
    ].join('\n');
    return { summary: { e2eP50Ms: round(p50, 0) }, details: { ...figures }, markdown };
  },
};
