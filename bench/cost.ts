/**
 * The cost model: USD per 1 million uploads on FC 3.0, from the durations and CPU the other benchmarks measured on
 * this machine (bench/results/{e2e,token,callback,media-job}.json — run those first) and FC's published CU prices.
 * Each media job is priced at its duration with the worker on as many cores as its function has vCPUs (media-job.ts).
 *
 * FC 3.0 bills compute units (CU): 75 CU per 10,000 invocations, 1 CU per active vCPU-second, 0.15 CU per
 * GB-second of memory, 0.05 CU per GB-second of disk — vCPU, memory and disk as configured, times the execution
 * duration — at USD 0.000020 per CU in the first tier (0–100 million CU a month). Source: Alibaba Cloud, Function
 * Compute 3.0 "Pay-as-you-go" (alibabacloud.com/help/en/functioncompute/fc-3-0/product-overview/
 * pay-as-you-go-billing-method-1), prices in force since 2024-08-27, read 2026-12-03.
 */
import type { Bench } from './lib/bench.js';
import { table } from './lib/bench.js';
import { readReport } from './lib/results.js';
import type { MediaJobFigures } from './media-job.js';

/** USD per CU, tier 1 (FC 3.0 pay-as-you-go). */
export const USD_PER_CU = 0.00002;
const CU_PER_INVOCATION = 75 / 10_000;
const CU_PER_VCPU_SECOND = 1;
const CU_PER_GB_SECOND_MEMORY = 0.15;
const CU_PER_GB_SECOND_DISK = 0.05;

export interface FunctionSize {
  vcpu: number;
  memoryGB: number;
  diskGB: number;
}

/** Each function's size as s.yaml deploys it: media twice, the image function also taking the OSS trigger. */
export const SIZES: Record<'token' | 'callback' | 'mediaImage' | 'mediaVideo', FunctionSize> = {
  token: { vcpu: 0.25, memoryGB: 0.25, diskGB: 0.5 },
  callback: { vcpu: 0.25, memoryGB: 0.25, diskGB: 0.5 },
  mediaImage: { vcpu: 1, memoryGB: 2, diskGB: 0.5 },
  mediaVideo: { vcpu: 2, memoryGB: 4, diskGB: 10 },
};

/** CU of one invocation lasting `seconds` on a function of `size`: the whole formula, for a reader to redo. */
export function invocationCu(size: FunctionSize, seconds: number): number {
  const perSecond =
    size.vcpu * CU_PER_VCPU_SECOND +
    size.memoryGB * CU_PER_GB_SECOND_MEMORY +
    size.diskGB * CU_PER_GB_SECOND_DISK;
  return CU_PER_INVOCATION + seconds * perSecond;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const round = (value: number, digits: number) => Number(value.toFixed(digits));

interface Load {
  requestsPerSecond: number;
  cpu: { server: number };
}

/** CPU-seconds per request of a server under load: cores busy ÷ requests per second. */
const cpuPerRequest = (load: Load | undefined) =>
  load ? load.cpu.server / load.requestsPerSecond : Number.NaN;

function figures() {
  const e2e = readReport('e2e')?.details as
    | { tokenMs: number[]; samples: Array<{ callbackAnswerMs: number; steps: Record<string, number> }> }
    | undefined;
  const token = readReport('token')?.details as { credentials?: Load } | undefined;
  const callback = readReport('callback')?.details as { callback?: Load } | undefined;
  const jobs = readReport('media-job')?.details as MediaJobFigures | undefined;
  if (!e2e || !token || !callback || !jobs) {
    throw new Error(
      'run `npm run bench -- e2e token callback media-job` first: the cost model uses their figures',
    );
  }
  // Wall time as measured, but never less than the CPU the request needs at the function's vCPU share.
  const billed = (wallMs: number, cpuSeconds: number, vcpu: number) =>
    Math.max(wallMs / 1000, cpuSeconds / vcpu);
  const tokenCpu = cpuPerRequest(token.credentials);
  const callbackCpu = cpuPerRequest(callback.callback);
  // Each kind at its function's vCPU count: the image function has 1, the video function 2.
  const imageJob = { ms: jobs.medianMs.image['1 core'], cpuMs: jobs.medianCpuMs.image['1 core'] };
  const videoJob = { ms: jobs.medianMs.video['2 cores'], cpuMs: jobs.medianCpuMs.video['2 cores'] };
  return {
    measured: {
      tokenMs: median(e2e.tokenMs),
      tokenCpuMs: tokenCpu * 1000,
      callbackMs: median(e2e.samples.map((s) => s.callbackAnswerMs)),
      callbackCpuMs: callbackCpu * 1000,
      imageJob,
      videoJob,
      /** The image job with the worker on 2 cores, and the 1-core ÷ 2-core ratios: what pricing at 1 core changes. */
      imageJobTwoCoresMs: jobs.medianMs.image['2 cores'],
      oneCoreVsTwo: jobs.oneCoreVsTwo,
    },
    seconds: {
      token: billed(median(e2e.tokenMs), tokenCpu, SIZES.token.vcpu),
      callback: billed(median(e2e.samples.map((s) => s.callbackAnswerMs)), callbackCpu, SIZES.callback.vcpu),
      // The OSS trigger's own invocation of media finds the job already queued: a HEAD and an answer, callback-sized.
      trigger: median(e2e.samples.map((s) => s.callbackAnswerMs)) / 1000,
      imageJob: billed(imageJob.ms, imageJob.cpuMs / 1000, SIZES.mediaImage.vcpu),
      videoJob: billed(videoJob.ms, videoJob.cpuMs / 1000, SIZES.mediaVideo.vcpu),
    },
  };
}

/**
 * CU of one upload: token + callback (HTTP), the OSS trigger's invocation (on the image function) + the job, on the
 * function of its kind.
 */
function uploadCu(seconds: ReturnType<typeof figures>['seconds'], kind: 'image' | 'video') {
  return {
    token: invocationCu(SIZES.token, seconds.token),
    callback: invocationCu(SIZES.callback, seconds.callback),
    trigger: invocationCu(SIZES.mediaImage, seconds.trigger),
    job:
      kind === 'image'
        ? invocationCu(SIZES.mediaImage, seconds.imageJob)
        : invocationCu(SIZES.mediaVideo, seconds.videoJob),
  };
}

const total = (parts: Record<string, number>) => Object.values(parts).reduce((a, b) => a + b, 0);
const usdPerMillion = (cu: number) => cu * USD_PER_CU * 1_000_000;

export const costBench: Bench = {
  name: 'cost',
  title: 'Cost model: USD per 1 million uploads on FC 3.0, from the measured figures and FC’s CU prices',
  async run() {
    const { measured, seconds } = figures();
    const image = uploadCu(seconds, 'image');
    const video = uploadCu(seconds, 'video');
    const mixed = (kind: 'image' | 'video') => (kind === 'image' ? total(image) : total(video));
    // A mixed workload: 9 in 10 uploads are photos, 1 in 10 a 10 s 1080p clip.
    const mixedCu = 0.9 * mixed('image') + 0.1 * mixed('video');
    const costs = {
      'image-only': round(usdPerMillion(total(image)), 2),
      'mixed (10% video)': round(usdPerMillion(mixedCu), 2),
    };
    const rows = (['token', 'callback', 'trigger', 'job'] as const).map((part) => [
      part === 'job'
        ? 'media job (image / video function)'
        : part === 'trigger'
          ? 'media image (OSS trigger)'
          : part,
      `${round((part === 'job' ? seconds.imageJob : seconds[part]) * 1000, 1)} ms`,
      round(image[part], 4),
      round(usdPerMillion(image[part]), 2),
      round(video[part], 4),
      round(usdPerMillion(video[part]), 2),
    ]);
    const mediaShare = (image.trigger + image.job) / total(image);
    const markdown = [
      'FC 3.0 bills compute units: **CU = 75/10,000 per invocation + seconds × (vCPU × 1 + memory GB × 0.15 + disk GB × 0.05)**, at USD 0.000020 per CU (tier 1, up to 100 million CU a month; Alibaba Cloud, Function Compute 3.0 "Pay-as-you-go", prices since 2024-08-27, read 2026-12-03). Sizes as s.yaml deploys them: token and callback 0.25 vCPU / 0.25 GB / 0.5 GB disk; media as two functions of one code, the image one (image jobs and the OSS trigger) 1 vCPU / 2 GB / 0.5 GB disk, the video one 2 vCPU / 4 GB / 10 GB disk (the full configured disk is counted: an upper bound). Seconds are this machine\'s measurements from the other benches, each invocation at least its CPU-seconds ÷ its vCPU share; each media job timed with its worker on as many cores as its function has vCPUs:',
      '',
      table(
        ['Input', 'Measured'],
        [
          [
            'token request (credentials grant), wall / CPU',
            `${round(measured.tokenMs, 1)} ms / ${round(measured.tokenCpuMs, 2)} ms (\`npm run bench -- e2e token\`)`,
          ],
          [
            'callback answer, wall / CPU',
            `${round(measured.callbackMs, 1)} ms / ${round(measured.callbackCpuMs, 2)} ms (\`npm run bench -- e2e callback\`)`,
          ],
          [
            'media job, 12 MP photo → 2 thumbnails, worker on 1 core (the image function: 1 vCPU), wall / CPU',
            `${round(measured.imageJob.ms, 0)} ms / ${round(measured.imageJob.cpuMs, 0)} ms — on 2 cores ${round(measured.imageJobTwoCoresMs, 0)} ms, 1 core ÷ 2 cores ${measured.oneCoreVsTwo.image} (\`npm run bench -- media-job\`)`,
          ],
          [
            'media job, 10 s 1080p clip, worker on 2 cores (the video function: 2 vCPU), wall / CPU',
            `${round(measured.videoJob.ms, 0)} ms / ${round(measured.videoJob.cpuMs, 0)} ms (\`npm run bench -- media-job\`)`,
          ],
        ],
      ),
      '',
      table(
        [
          'Invocation',
          'Billed seconds (image)',
          'CU (image upload)',
          'USD / 1M (image)',
          'CU (video upload)',
          'USD / 1M (video)',
        ],
        rows,
      ),
      '',
      `**USD per 1 million uploads: ${costs['image-only']} image-only; ${costs['mixed (10% video)']} mixed (9 photos : 1 clip).** Media is ${round(mediaShare * 100, 0)}% of an image upload's FC cost. Not included: STS (AssumeRole is free); OSS requests and storage (a PUT and a few HEAD/GET per upload — see OSS's request prices for your region); traffic (uploads into OSS are free, the functions use the internal endpoint). Billed duration on FC may be rounded up and FC's vCPU is not this machine's core: redo the formula with your own durations.`,
    ].join('\n');
    return {
      summary: { costUsdPerMillionUploads: costs },
      details: { measured, seconds, image, video, usdPerCu: USD_PER_CU },
      markdown,
    };
  },
};
