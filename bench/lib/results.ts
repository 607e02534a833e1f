/**
 * What `npm run bench` publishes: `bench/results/summary.json` (the headline figures, merged across runs of single
 * sub-benchmarks) and `bench/results/<bench>.json` (every figure of one sub-benchmark, with its machine and command).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MachineInfo } from './machine.js';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = join(BENCH_DIR, 'results');
export const REPO_ROOT = join(BENCH_DIR, '..');

/** The headline figures. Ratios where the machine would otherwise decide the number. */
export interface Summary {
  /** Callback req/s ÷ bare node:http req/s, same run, same pinning (outbound calls answered by a minimal responder). */
  callbackVsBare: number;
  callbackP99Ms: number;
  /** verifyOssCallback with the pinned (parsed, reused) key, one core. */
  verifyPerSecond: number;
  /** Thumbnail pipeline time ÷ its necessary libvips steps timed alone (24 MP). */
  thumbnailOverhead: number;
  /** ImageMagick `convert` time for the same outputs ÷ the pipeline's (24 MP). */
  thumbnailVsImageMagick: number;
  /** Peak RSS of a process running the pipeline on a 24 MP JPEG. */
  thumbnailPeakRssMB: number;
  /** The media job for a 10 s 1080p clip ÷ the same ffmpeg transcode run by hand. */
  transcodeOverhead: number;
  /** `require` of each built function in a fresh node process (median). */
  coldStartMs: Record<string, number>;
  /** Bytes of each built function's `index.js`. */
  bundleBytes: Record<string, number>;
  /** Upload → callback answer → thumbnails ready, 12 MP JPEGs on the local stack (median). */
  e2eP50Ms: number;
}

export interface BenchReport {
  bench: string;
  /** ISO time of the run. */
  ranAt: string;
  /** The command that reproduces it. */
  command: string;
  machine: MachineInfo;
  summary: Partial<Summary>;
  /** Every figure, as the bench's own markdown section shows it. */
  details: Record<string, unknown>;
  /** The bench's section of BENCHMARKS.md (markdown). */
  markdown: string;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readReport(bench: string): BenchReport | undefined {
  return readJson<BenchReport>(join(RESULTS_DIR, `${bench}.json`));
}

/** Save one sub-benchmark's report and fold its headline figures into summary.json. */
export function saveReport(report: BenchReport): Partial<Summary> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${report.bench}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const summaryFile = join(RESULTS_DIR, 'summary.json');
  const summary = { ...readJson<Partial<Summary>>(summaryFile), ...report.summary };
  writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

export function writeFileEnsuringDir(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}
