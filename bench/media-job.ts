/**
 * One media job per invocation, as FC bills it, with the worker on this machine's 2 cores and confined to 1: the image
 * function has 1 vCPU, the video function 2, so each kind's cost is its duration at its function's size. The worker
 * (the media handler, its image renderer and ffmpeg runs, which inherit its CPU affinity) runs in its own process,
 * the local cloud (OSS) in another, on the core the one-core worker does not use.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import type { MediaJob } from '../shared/media-job.js';
import { type Bench, table } from './lib/bench.js';
import { type BenchChild, beside, startChild } from './lib/child.js';
import { treeCpuSeconds } from './lib/cpu.js';
import { CLIP_SECONDS, cameraJpeg, clip1080p } from './lib/media-fixtures.js';
import { mediaEnv, staticTools } from './lib/media-job.js';
import { median, round } from './lib/stats.js';
import type { StoreRequest } from './media-job/cloud.js';

const BUCKET = 'upcall-bench';
const WORKER_CPU = '0';
const CLOUD_CPU = '1';

export type Kind = 'image' | 'video';
export type Layout = '2 cores' | '1 core';
const LAYOUTS: ReadonlyArray<{ layout: Layout; cpus?: string }> = [
  { layout: '2 cores' },
  { layout: '1 core', cpus: WORKER_CPU },
];

export interface Invocation {
  ms: number;
  /** CPU of the worker's process tree during the invocation (handler, renderer, ffmpeg). */
  cpuMs: number;
}

export interface MediaJobFigures {
  /** Cores each worker saw (`os.availableParallelism()`). */
  cores: Record<Layout, number>;
  /** libvips' threads per image (sharp's default here). */
  sharpConcurrency: number;
  samples: Record<Kind, Record<Layout, Invocation[]>>;
  medianMs: Record<Kind, Record<Layout, number>>;
  medianCpuMs: Record<Kind, Record<Layout, number>>;
  /** Median of each round's one-core ÷ two-core wall time. */
  oneCoreVsTwo: Record<Kind, number>;
}

const perLayout = <T>(value: (layout: Layout) => T) =>
  Object.fromEntries(LAYOUTS.map(({ layout }) => [layout, value(layout)])) as Record<Layout, T>;

export const mediaJobBench: Bench = {
  name: 'media-job',
  title: 'One media job per invocation (12 MP photo, 10 s 1080p clip), the worker on 2 cores and on 1',
  async run(context) {
    const rounds: Record<Kind, number> = { image: context.quick ? 2 : 8, video: context.quick ? 1 : 3 };
    const uploads: Record<Kind, Omit<StoreRequest, 'key'> & { ext: string }> = {
      image: { file: await cameraJpeg(context.scratch, 4000, 3000), contentType: 'image/jpeg', ext: 'jpg' },
      video: { file: await clip1080p(context.scratch, CLIP_SECONDS), contentType: 'video/mp4', ext: 'mp4' },
    };
    const tools = await staticTools();
    const cloud = await startChild<{
      info: { region: string; oss: { endpoint: string }; fc: { endpoint: string } };
      credentials: unknown;
    }>(beside(import.meta.url, './media-job/cloud.ts'), [join(context.scratch, 'media-job-cloud'), BUCKET], {
      cpus: CLOUD_CPU,
    });
    const workers: Array<BenchChild<{ cores: number }>> = [];
    try {
      const { info, credentials } = cloud.ready;
      const env = mediaEnv(info, BUCKET, tools);
      for (const { cpus } of LAYOUTS) {
        workers.push(
          await startChild(
            beside(import.meta.url, './media-job/worker.ts'),
            [context.scratch, JSON.stringify(credentials)],
            { env, ...(cpus ? { cpus } : {}) },
          ),
        );
      }
      let stored = 0;
      const invoke = async (worker: BenchChild<{ cores: number }>, kind: Kind): Promise<Invocation> => {
        const { file, contentType, ext } = uploads[kind];
        stored += 1;
        const job = await cloud.ask<MediaJob>({
          file,
          contentType,
          key: `uploads/alice/${kind}-${stored}.${ext}`,
        });
        const pid = worker.process.pid as number;
        const before = treeCpuSeconds(pid);
        const { ms } = await worker.ask<{ ms: number }>(job);
        return { ms, cpuMs: (treeCpuSeconds(pid) - before) * 1000 };
      };
      const samples = {
        image: perLayout(() => [] as Invocation[]),
        video: perLayout(() => [] as Invocation[]),
      };
      for (const kind of ['image', 'video'] as const) {
        // A first job on each worker starts its renderer and warms the caches: not counted.
        for (const worker of workers) await invoke(worker, kind);
        for (let r = 0; r < rounds[kind]; r++) {
          // The layouts swap places every round, so neither always runs on a machine the other warmed.
          const order = r % 2 === 0 ? [0, 1] : [1, 0];
          for (const at of order) {
            samples[kind][LAYOUTS[at]?.layout as Layout].push(
              await invoke(workers[at] as BenchChild<{ cores: number }>, kind),
            );
          }
        }
        context.log(
          `  ${kind}: ${LAYOUTS.map(({ layout }) => `${layout} ${Math.round(median(samples[kind][layout].map((s) => s.ms)))} ms`).join(', ')}`,
        );
      }
      const medianOf = (pick: (s: Invocation) => number) =>
        Object.fromEntries(
          (['image', 'video'] as const).map((kind) => [
            kind,
            perLayout((layout) => median(samples[kind][layout].map(pick))),
          ]),
        ) as Record<Kind, Record<Layout, number>>;
      const oneCoreVsTwo = Object.fromEntries(
        (['image', 'video'] as const).map((kind) => [
          kind,
          round(
            median(
              samples[kind]['1 core'].map((s, i) => s.ms / (samples[kind]['2 cores'][i] as Invocation).ms),
            ),
          ),
        ]),
      ) as Record<Kind, number>;
      const figures: MediaJobFigures = {
        cores: perLayout(
          (layout) =>
            (workers[LAYOUTS.findIndex((l) => l.layout === layout)] as BenchChild<{ cores: number }>).ready
              .cores,
        ),
        sharpConcurrency: sharp.concurrency(),
        samples,
        medianMs: medianOf((s) => s.ms),
        medianCpuMs: medianOf((s) => s.cpuMs),
        oneCoreVsTwo,
      };
      return {
        summary: { mediaJobOneCoreVsTwo: oneCoreVsTwo },
        details: { ...figures },
        markdown: report(figures, rounds),
        tools: { ffmpeg: tools.ffmpeg },
      };
    } finally {
      await Promise.all([...workers, cloud].map((child) => child.stop()));
    }
  },
};

function report(figures: MediaJobFigures, rounds: Record<Kind, number>): string {
  const what: Record<Kind, string> = {
    image: '12 MP camera JPEG → 2 thumbnails',
    video: `${CLIP_SECONDS} s 1080p clip → H.264 720p, poster, thumbnails`,
  };
  return [
    `The media function's handler in its own process (\`bench/media-job/worker.ts\`), one job per invocation as FC runs it: HEAD, lease, download, render or transcode, uploads, the manifest. "2 cores": the worker unpinned; "1 core": the worker under \`taskset -c ${WORKER_CPU}\`, which its image renderer and ffmpeg runs inherit (the worker sees ${figures.cores['1 core']} core; ${figures.cores['2 cores']} unpinned), as on the image function's 1 vCPU. The local cloud (OSS) runs in another process on CPU ${CLOUD_CPU}. Threads: libvips renders on ${figures.sharpConcurrency} thread whatever the cores (\`sharp.concurrency()\`: sharp's default on glibc without jemalloc); ffmpeg sizes its threads by the cores it sees. CPU is the worker's process tree (its own, the renderer's, ffmpeg's) during the invocation, from /proc (10 ms ticks). After a first job each, ${rounds.image} image and ${rounds.video} video rounds, the two workers alternating; medians, and the median of each round's 1-core ÷ 2-core time.`,
    '',
    table(
      ['Job', '2 cores: wall ms', 'CPU ms', '1 core: wall ms', 'CPU ms', '1 core ÷ 2 cores'],
      (['image', 'video'] as const).map((kind) => [
        what[kind],
        round(figures.medianMs[kind]['2 cores'], 0),
        round(figures.medianCpuMs[kind]['2 cores'], 0),
        round(figures.medianMs[kind]['1 core'], 0),
        round(figures.medianCpuMs[kind]['1 core'], 0),
        figures.oneCoreVsTwo[kind],
      ]),
    ),
    '',
    'The cost model (`npm run bench -- cost`) prices image jobs at the 1-core time (the image function has 1 vCPU) and video jobs at the 2-core time (the video function has 2).',
  ].join('\n');
}
