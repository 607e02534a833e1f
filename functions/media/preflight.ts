/**
 * A misconfigured worker is not a transient error. Before an instance's first job of a kind, the tools that kind runs
 * are checked: sharp loading in the image renderer (isolated.ts) for images; for videos also ffmpeg and ffprobe found
 * and running (sharp thumbnails the poster). An image job never needs ffmpeg, so the image function runs without it.
 * When a tool, sharp or the settings are broken, each job ends at once with a `failed` manifest coded
 * `WorkerMisconfigured` and one error log line naming the setting — no retry, no billed minutes of FC retrying a
 * job that cannot succeed, and no client waiting out its timeout.
 */
import type { Logger } from '../../shared/log.js';
import { type MediaJob, type MediaPlanSettings, planMediaJob } from '../../shared/media-job.js';
import type { MediaManifest } from '../../shared/media-manifest.js';
import { MediaFailure, WorkerMisconfigured } from './failure.js';
import { locateMediaTools, type MediaTools, runTool } from './ffmpeg.js';
import { checkRenderer } from './isolated.js';
import type { JobResult } from './job.js';
import { buildManifest, readManifest, writeManifest } from './manifest.js';
import type { MediaStore } from './store.js';

/** `-version` answers in milliseconds; a binary that hangs this long is as broken as a missing one. */
const VERSION_TIMEOUT_MS = 10_000;
/** sharp loads in a fraction of a second, but in a renderer that is a fresh Node process: slow on a loaded machine. */
const SHARP_LOAD_TIMEOUT_MS = 30_000;

/**
 * ffmpeg and ffprobe found and answering `-version`; else `WorkerMisconfigured`, naming the setting that picks the
 * broken one.
 */
export async function checkMediaTools(
  explicit: { ffmpeg: string; ffprobe: string },
  env: NodeJS.ProcessEnv,
): Promise<MediaTools> {
  const tools = await locateMediaTools(explicit, env).catch((error: Error) => {
    throw new WorkerMisconfigured(error.message, { cause: error });
  });
  await Promise.all(
    (['ffmpeg', 'ffprobe'] as const).map(async (tool) => {
      try {
        await runTool(tools[tool], ['-version'], { timeoutMs: VERSION_TIMEOUT_MS });
      } catch (error) {
        const setting = tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
        throw new WorkerMisconfigured(
          `${setting}: ${tools[tool]} does not run (${(error as Error).message})`,
          {
            cause: error,
          },
        );
      }
    }),
  );
  return tools;
}

/** `check` run once while it succeeds; a failure is forgotten, so the next call runs it again. */
function onceWhileOk<T>(check: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= check().catch((error: unknown) => {
      result = undefined;
      throw error;
    });
    return result;
  };
}

/**
 * One instance's checks, each run before its first job that needs it. A failed check is redone by the next job (the
 * instance, not the deployment, may have been at fault), but the job that met it ends at once.
 */
export function instanceChecks(explicit: { ffmpeg: string; ffprobe: string }, env: NodeJS.ProcessEnv) {
  const tools = onceWhileOk(() => checkMediaTools(explicit, env));
  const sharp = onceWhileOk(() => checkRenderer(SHARP_LOAD_TIMEOUT_MS));
  return {
    tools,
    /** Resolves when this instance can run a job of `kind`; `WorkerMisconfigured` when it cannot. */
    async ready(kind: MediaJob['kind']): Promise<void> {
      await Promise.all(kind === 'video' ? [sharp(), tools()] : [sharp()]);
    },
  };
}

export interface MisconfiguredJobDeps {
  store: MediaStore;
  plan: MediaPlanSettings;
  now: () => number;
  log: Logger;
  announce?: (manifest: MediaManifest) => Promise<void>;
}

/**
 * End a job because the worker cannot run it: a `failed` manifest unless the version already has one. The manifest
 * says only that the worker is misconfigured (uploaders read it); `problem`, with the setting, goes to the log.
 */
export async function failMisconfigured(
  job: MediaJob,
  problem: Error,
  deps: MisconfiguredJobDeps,
): Promise<JobResult> {
  const log = deps.log.child({ taskId: job.taskId, key: job.key, etag: job.etag });
  const plan = planMediaJob(job, deps.plan);
  if (!plan || plan.taskId !== job.taskId) {
    log.error({ err: problem }, 'media worker misconfigured; the job names no version it would serve');
    return { outcome: 'rejected', taskId: job.taskId, reason: 'not a job of this function' };
  }
  const { manifestKey } = plan;
  if (await readManifest(deps.store, manifestKey, log)) {
    return { outcome: 'already-done', taskId: plan.taskId, manifestKey };
  }
  const now = deps.now();
  const failure = new MediaFailure(
    'WorkerMisconfigured',
    'the media function is misconfigured, so it processes nothing; its operator has the details in its log',
  );
  const timings = { requestedAt: job.requestedAt, startedAt: now, finishedAt: now, steps: {} };
  const manifest = buildManifest(job, plan, 1, timings, failure);
  await writeManifest(deps.store, plan, manifest);
  await deps.announce?.(manifest);
  log.error({ err: problem, code: failure.code }, 'media job failed: the worker is misconfigured');
  return { outcome: 'failed', taskId: plan.taskId, manifestKey, attempt: 1 };
}
