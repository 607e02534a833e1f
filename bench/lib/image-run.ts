/** What the image benchmarks' workers share: the default thumbnails, the pipeline's options, timing and peak RSS. */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ImageOptions, renderThumbnails, type ThumbnailSpec } from '../../functions/media/image.js';
import { loadMediaPlanSettings, planMediaJob } from '../../shared/media-job.js';
import { msSince } from './stats.js';

/** The thumbnails the media function makes by default (from shared/config.ts's defaults). */
export function defaultSpecs(): ThumbnailSpec[] {
  const plan = planMediaJob(
    { bucket: 'bench', key: 'uploads/a/photo.jpg', etag: '0'.repeat(32), contentType: 'image/jpeg' },
    loadMediaPlanSettings({}),
  );
  if (!plan) throw new Error('no plan for image/jpeg');
  return plan.outputs.flatMap((output) =>
    output.size ? [{ key: output.key, contentType: output.contentType, size: output.size }] : [],
  );
}

/** The pipeline's options with the default pixel limit (120 MP). */
export const imageOptions = (workDir: string): ImageOptions => ({
  maxPixels: 120_000_000,
  maxFrames: 1000,
  keepAnimation: true,
  workDir,
});

export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return msSince(start);
}

/**
 * Peak RSS of this process image, from /proc (`VmHWM`). Not `process.resourceUsage().maxRSS`: Linux carries the
 * parent's high-water mark across fork and exec, so a child of a large runner would report the runner's peak.
 */
export function peakRssMB(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('no VmHWM in /proc/self/status');
  return Number(match[1]) / 1024;
}

export interface PipelineRss {
  /** Peak RSS once the modules are loaded, before any image. */
  baselineMB: number;
  peakMB: number;
  pipelineMs: number;
}

/** Run the default thumbnails of `file` once in this (fresh) process and report its peak RSS. */
export async function pipelineRss(file: string): Promise<PipelineRss> {
  const baselineMB = peakRssMB();
  const source = await readFile(file);
  const workDir = await mkdtemp(join(tmpdir(), 'upcall-bench-rss-'));
  try {
    const pipelineMs = await timeMs(() => renderThumbnails(source, defaultSpecs(), imageOptions(workDir)));
    return { baselineMB, peakMB: peakRssMB(), pipelineMs };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
