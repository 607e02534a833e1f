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
  /**
   * Callback req/s ÷ its floor's (node:http making the same two outbound calls, no logic), same run, same pinning:
   * against the minimal responder, and against the full local cloud.
   */
  callbackVsFloor: Record<string, number>;
  /** The floor's server CPU per request ÷ the callback's (same runs): the cost ratio, whatever the load generator. */
  callbackCpuVsFloor: Record<string, number>;
  /** Callback req/s ÷ bare node:http req/s, same run, same pinning (outbound calls answered by a minimal responder). */
  callbackVsBare: number;
  callbackP99Ms: number;
  /** Successful grants per second by kind: form and put (no AssumeRole) vs credentials (STS quota 100/s on). */
  tokenGrantsPerSecond: Record<string, number>;
  /** verifyOssCallback with the pinned (parsed, reused) key, one core. */
  verifyPerSecond: number;
  /** verifyOssCallback's rate ÷ the bare `crypto.verify` with the same reused key, same process. */
  verifyVsCrypto: number;
  /** Thumbnail pipeline time ÷ its necessary libvips steps timed alone (24 MP). */
  thumbnailOverhead: number;
  /** ImageMagick `convert` time for the same outputs ÷ the pipeline's (24 MP). */
  thumbnailVsImageMagick: number;
  /** Peak RSS of a process running the pipeline on a 24 MP JPEG. */
  thumbnailPeakRssMB: number;
  /** HEIC decode to full-size pixels ÷ the same pixels' JPEG decode (12 MP, same process, same run). */
  heicDecodeVsJpeg: number;
  /** The thumbnail pipeline on that HEIC ÷ on that JPEG. */
  heicPipelineVsJpeg: number;
  /** Peak RSS of a process running the pipeline on a HEIC, by size (12 MP, 48 MP). */
  heicPeakRssMB: Record<string, number>;
  /** The media job for a 10 s 1080p clip ÷ the same ffmpeg transcode run by hand. */
  transcodeOverhead: number;
  /** A media job's wall time with its worker on 1 core ÷ on 2 cores, by kind (photo, clip), same run. */
  mediaJobOneCoreVsTwo: Record<string, number>;
  /** `require` of each built function in a fresh node process (median). */
  coldStartMs: Record<string, number>;
  /** Each function's `require` ÷ a whole bare `node -e 0` process, run in pairs (median of the pairs' ratios). */
  coldStartVsNode: Record<string, number>;
  /** Bytes of each built function's `index.js`. */
  bundleBytes: Record<string, number>;
  /** Upload → callback answer → thumbnails ready, 12 MP JPEGs on the local stack (median). */
  e2eP50Ms: number;
  /** FC 3.0 cost of 1 million uploads (USD), image-only and mixed, from the measured figures (bench/cost.ts). */
  costUsdPerMillionUploads: Record<string, number>;
}

const HTTP_FUNCTIONS = ['token', 'callback'];
const httpWithin = (limit: number) => (value: unknown) =>
  HTTP_FUNCTIONS.every(
    (name) => ((value as Record<string, number>)[name] ?? Number.POSITIVE_INFINITY) < limit,
  );

/** summary.json's fields in the order the issue lists them: target, whether a value meets it, the bench measuring it. */
export const HEADLINES: ReadonlyArray<{
  field: keyof Summary;
  target: string;
  met: (value: unknown) => boolean;
  bench: string;
}> = [
  {
    field: 'callbackVsFloor',
    target: '≥ 0.33 (both)',
    met: (v) => Object.values(v as Record<string, number>).every((ratio) => ratio >= 0.33),
    bench: 'callback',
  },
  {
    field: 'callbackCpuVsFloor',
    target: '≥ 0.33 (a callback costs ≤ 3 floors)',
    met: (v) => Object.values(v as Record<string, number>).every((ratio) => ratio >= 0.33),
    bench: 'callback',
  },
  {
    field: 'callbackVsBare',
    target: 'published (the floor is ~0.2)',
    met: () => true,
    bench: 'callback',
  },
  { field: 'callbackP99Ms', target: '< 50 ms', met: (v) => (v as number) < 50, bench: 'callback' },
  {
    field: 'tokenGrantsPerSecond',
    target: '≥ 2000/s (form, put)',
    met: (v) => ['form', 'put'].every((kind) => ((v as Record<string, number>)[kind] ?? 0) >= 2000),
    bench: 'token',
  },
  { field: 'verifyPerSecond', target: '≥ 100k/s', met: (v) => (v as number) >= 100_000, bench: 'verify' },
  { field: 'verifyVsCrypto', target: '≥ 0.8', met: (v) => (v as number) >= 0.8, bench: 'verify' },
  { field: 'thumbnailOverhead', target: '≤ 1.2', met: (v) => (v as number) <= 1.2, bench: 'thumbnail' },
  { field: 'thumbnailVsImageMagick', target: '≥ 3', met: (v) => (v as number) >= 3, bench: 'thumbnail' },
  {
    field: 'thumbnailPeakRssMB',
    target: '< 300 MB (24 MP)',
    met: (v) => (v as number) < 300,
    bench: 'thumbnail',
  },
  { field: 'heicDecodeVsJpeg', target: 'published (issue 20)', met: () => true, bench: 'heic' },
  { field: 'heicPipelineVsJpeg', target: 'published (issue 20)', met: () => true, bench: 'heic' },
  { field: 'heicPeakRssMB', target: 'published (issue 20)', met: () => true, bench: 'heic' },
  {
    field: 'transcodeOverhead',
    target: '≤ 1.2 (download included)',
    met: (v) => (v as number) <= 1.2,
    bench: 'transcode',
  },
  {
    field: 'mediaJobOneCoreVsTwo',
    target: 'published (image priced at 1 core)',
    met: () => true,
    bench: 'media-job',
  },
  { field: 'coldStartMs', target: '< 150 ms (HTTP functions)', met: httpWithin(150), bench: 'cold-start' },
  {
    field: 'coldStartVsNode',
    target: '≤ 1.0 (token, callback)',
    met: (v) => HTTP_FUNCTIONS.every((name) => ((v as Record<string, number>)[name] ?? 2) <= 1),
    bench: 'cold-start',
  },
  {
    field: 'bundleBytes',
    target: '< 1.5 MB (HTTP functions)',
    met: httpWithin(1_500_000),
    bench: 'cold-start',
  },
  { field: 'e2eP50Ms', target: '< 2000 ms', met: (v) => (v as number) < 2000, bench: 'e2e' },
  { field: 'costUsdPerMillionUploads', target: 'published', met: () => true, bench: 'cost' },
];

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
  const merged: Partial<Summary> = { ...readJson<Partial<Summary>>(summaryFile), ...report.summary };
  // Always in the order of HEADLINES, whichever sub-benchmarks ran last.
  const summary = Object.fromEntries(
    HEADLINES.filter(({ field }) => merged[field] !== undefined).map(({ field }) => [field, merged[field]]),
  ) as Partial<Summary>;
  writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

export function writeFileEnsuringDir(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}
