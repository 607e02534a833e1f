/**
 * The media job, exactly once per object version. The protocol, every guard in the order it runs:
 *
 *  1. One task id per version. `mediaTaskId(bucket, key, etag)` is the FC async task id both dispatchers use (the
 *     callback, and the trigger path in trigger.ts); FC accepts a task id once, so a replayed callback or the trigger
 *     after a callback queues nothing new ("already queued").
 *  2. The trigger path HEADs the manifest before dispatching: the only guard once FC has forgotten the task id.
 *  3. The job must name a version this function serves: its bucket, a planned content type, and the task id its
 *     (bucket, key, etag) gives — anything else is `rejected`, never run.
 *  4. Manifest first: a version whose manifest exists is done (`already-done`); its webhook is repeated, since the
 *     previous run may have died between the manifest and the outbox (the outbox keeps one record per event).
 *  5. The verdict (verdict.ts): an upload refused (by its own verdict, or by the application's veto, which a trigger-path
 *     job asks for itself when no callback settled it) ends in an `UploadRejected` manifest, unprocessed; a
 *     trigger-path job that must wait for the callback's verdict re-queues itself for later and ends.
 *  6. The lease (lease.ts): one create-if-absent write per generation. An expired or released lease, or one left by
 *     an earlier attempt of this same FC request (FC retries a request under its id, one attempt at a time, so that
 *     attempt is dead), is taken over with the next generation; after `MAX_ATTEMPTS` generations the job ends
 *     `AttemptsExhausted` instead of looping. A live lease of another run is never answered with success — that run
 *     may have died (an instance killed mid-job), and a run recorded as done would leave the job to nobody. The run
 *     watches instead: every `WATCH_INTERVAL_MS` it looks for the manifest (then `already-done`) and tries the lease
 *     again, taking it over once expired or released. A holder's lease expires at its start plus the function's
 *     timeout, so a dead run's job is taken over within one timeout. A run takes over after watching only while at
 *     least half of its time is left (a late takeover would time the job out for want of time, not for the file's
 *     demands); past that it throws `JobHeldElsewhere`, and FC's retry of the request — a whole timeout long, and
 *     under the same request id — watches on and takes the job over once the lease expires.
 *  7. Manifest again, under the lease: a run that finished between guard 4 and the lease is final.
 *  8. Render (render.ts): outputs have fixed keys and are overwritten by a retry; a permanent failure (the input's
 *     fault) becomes a `failed` manifest.
 *  9. The manifest is written last — its presence is "done" — then the application is told (outbox).
 * 10. Transient trouble releases the lease and throws, so FC's retry runs the job again at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DispatchOutcome } from '../../shared/fc-async-invoke.js';
import type { Logger } from '../../shared/log.js';
import { type MediaJob, planMediaJob } from '../../shared/media-job.js';
import type { MediaManifest } from '../../shared/media-manifest.js';
import type { MediaWorkerConfig } from './config.js';
import { MediaFailure } from './failure.js';
import type { MediaTools } from './ffmpeg.js';
import { acquireLease } from './lease.js';
import { buildManifest, readManifest, writeManifest } from './manifest.js';
import { renderJob } from './render.js';
import type { MediaStore } from './store.js';
import { uploadVerdict, type VetoDeps } from './verdict.js';

export interface MediaWorkerDeps {
  store: MediaStore;
  /** Resolved on first use: image jobs never need ffmpeg. */
  tools: () => Promise<MediaTools>;
  now: () => number;
  log: Logger;
  /** Where per-run scratch folders are made (FC: /tmp). */
  scratchDir: string;
  /**
   * Tell the application a manifest was written (`media.ready` / `media.failed`, through the outbox); absent when no
   * hook is configured. Throws when the event could not be recorded or its retry queued, so FC's retry of the job
   * (which finds the manifest, guard 4) repeats it.
   */
  announce?: (manifest: MediaManifest) => Promise<void>;
  /** How a trigger-path job waits for the verdict when the application can veto uploads (the upload hook is on). */
  verdict?: VetoDeps;
  /** How a run watching another run's lease waits (guard 6); a timer by default. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RunContext {
  /** FC's request id: the lease holder. */
  requestId: string;
}

export type JobResult =
  | { outcome: 'succeeded' | 'failed'; taskId: string; manifestKey: string; attempt: number }
  /** The manifest already exists: nothing to do. */
  | { outcome: 'already-done'; taskId: string; manifestKey: string }
  /** The content type gets no job (the job was planned with other settings, or by hand). */
  | { outcome: 'not-media'; taskId: string }
  /** The job does not describe an object version this function serves; retrying cannot change that. */
  | { outcome: 'rejected'; taskId: string; reason: string }
  /** No verdict on the upload yet: the job is queued again, to look for it later (verdict.ts). */
  | {
      outcome: 'verdict-pending';
      taskId: string;
      recheckTaskId: string;
      delaySeconds: number;
      /** `already-queued`: another run of this same check queued the next one (FC retried it). */
      queued: DispatchOutcome;
    };

/**
 * Runs that may end without a manifest (killed, or failed transiently) before the job is declared stuck: above FC's
 * largest retry count (8) plus a re-dispatch from the other path, yet finite, so a source that kills every run (e.g.
 * out of memory) ends `failed` instead of looping.
 */
export const MAX_ATTEMPTS = 12;

/** How often a run watching another run's live lease looks again (guard 6). */
export const WATCH_INTERVAL_MS = 2_000;

/** Time kept back from the function's timeout for uploads and the manifest: 20 s, or a quarter of a short timeout. */
const reserveMs = (timeoutMs: number) => Math.min(20_000, Math.floor(timeoutMs / 4));

/** Thrown when a live lease of another run outlasts what this run may wait: transient, FC retries the request. */
export class JobHeldElsewhere extends Error {
  override name = 'JobHeldElsewhere';
}

type Claim = Awaited<ReturnType<typeof acquireLease>> | { status: 'done' };

/**
 * Guard 6: the lease, or the manifest another run wrote while this one watched its lease. Throws `JobHeldElsewhere`
 * when a takeover after watching would come with less than half of the run's time (`timeoutMs`) left.
 */
async function claimJob(
  options: Parameters<typeof acquireLease>[1] & { manifestKey: string; timeoutMs: number },
  deps: MediaWorkerDeps,
  log: Logger,
): Promise<Exclude<Claim, { status: 'held' }>> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const takeOverBy = options.expiresAt - options.timeoutMs / 2;
  for (;;) {
    const claim = await acquireLease(deps.store, options);
    if (claim.status !== 'held') return claim;
    if (await readManifest(deps.store, options.manifestKey, log)) return { status: 'done' };
    const wakeAt = Math.min(claim.expiresAt, deps.now() + WATCH_INTERVAL_MS);
    if (wakeAt > takeOverBy) {
      throw new JobHeldElsewhere(
        `run ${claim.holder} holds the job until ${new Date(claim.expiresAt).toISOString()}, too late for this run to take it over; FC's retry will`,
      );
    }
    log.info({ holder: claim.holder, expiresAt: claim.expiresAt }, 'another run holds the job; watching it');
    await sleep(Math.max(0, wakeAt - deps.now()));
  }
}

/** Run one media job. Throws only for transient trouble (FC retries); every other end is a result. */
export async function runMediaJob(
  job: MediaJob,
  context: RunContext,
  config: MediaWorkerConfig,
  deps: MediaWorkerDeps,
): Promise<JobResult> {
  const startedAt = deps.now();
  const log = deps.log.child({ taskId: job.taskId, key: job.key, etag: job.etag });
  // Guard 3.
  if (job.bucket !== config.bucket) {
    log.error({ bucket: job.bucket }, 'job for another bucket');
    return {
      outcome: 'rejected',
      taskId: job.taskId,
      reason: `this function serves bucket ${config.bucket}`,
    };
  }
  const plan = planMediaJob(job, config.plan);
  if (!plan) {
    log.warn({ contentType: job.contentType }, 'content type gets no media job');
    return { outcome: 'not-media', taskId: job.taskId };
  }
  if (plan.taskId !== job.taskId) {
    log.error({ expected: plan.taskId }, 'task id does not match the object version');
    return {
      outcome: 'rejected',
      taskId: job.taskId,
      reason: `the task id of this object version is ${plan.taskId}`,
    };
  }
  const { manifestKey } = plan;
  // Guard 4.
  const done = await readManifest(deps.store, manifestKey, log);
  if (done) {
    log.info('already done');
    await deps.announce?.(done);
    return { outcome: 'already-done', taskId: plan.taskId, manifestKey };
  }

  const timings = () => ({ requestedAt: job.requestedAt, startedAt, finishedAt: deps.now(), steps: {} });
  // Guard 5.
  const verdict = await uploadVerdict(job, {
    store: deps.store,
    now: deps.now,
    log,
    ...(deps.verdict ? { veto: deps.verdict } : {}),
  });
  if (verdict.kind === 'recheck') {
    const { taskId: recheckTaskId, delaySeconds, queued } = verdict;
    return { outcome: 'verdict-pending', taskId: plan.taskId, recheckTaskId, delaySeconds, queued };
  }
  if (verdict.kind === 'refused') {
    const failure = new MediaFailure('UploadRejected', `the upload was refused: ${verdict.reason}`);
    await writeManifest(deps.store, plan, buildManifest(job, plan, 1, timings(), failure));
    log.warn({ reason: verdict.reason }, 'upload was refused; not processed');
    return { outcome: 'failed', taskId: plan.taskId, manifestKey, attempt: 1 };
  }

  // Guard 6.
  const claim = await claimJob(
    {
      prefix: plan.outputPrefix,
      taskId: plan.taskId,
      holder: context.requestId,
      expiresAt: startedAt + config.timeoutMs,
      maxAttempts: MAX_ATTEMPTS,
      now: deps.now,
      manifestKey,
      timeoutMs: config.timeoutMs,
    },
    deps,
    log,
  );
  if (claim.status === 'done') {
    log.info('another run finished the job while this one watched');
    return { outcome: 'already-done', taskId: plan.taskId, manifestKey };
  }
  if (claim.status === 'exhausted') {
    const failure = new MediaFailure(
      'AttemptsExhausted',
      `${claim.attempts} runs ended without finishing the job`,
    );
    const manifest = buildManifest(job, plan, claim.attempts, timings(), failure);
    await writeManifest(deps.store, plan, manifest);
    await deps.announce?.(manifest);
    log.error({ attempts: claim.attempts }, 'job abandoned: every attempt died');
    return { outcome: 'failed', taskId: plan.taskId, manifestKey, attempt: claim.attempts };
  }

  const { lease } = claim;
  let workDir: string | undefined;
  try {
    // Guard 7.
    if (await readManifest(deps.store, manifestKey, log)) {
      await lease.release();
      return { outcome: 'already-done', taskId: plan.taskId, manifestKey };
    }
    // Guard 8.
    workDir = await mkdtemp(join(deps.scratchDir, 'upcall-media-'));
    const { result, steps } = await renderJob(
      { job, plan, config, workDir, deadline: startedAt + config.timeoutMs - reserveMs(config.timeoutMs) },
      deps,
    );
    // Guard 9.
    const manifest = buildManifest(job, plan, lease.attempt, { ...timings(), steps }, result);
    await writeManifest(deps.store, plan, manifest);
    await deps.announce?.(manifest);
    if (result instanceof MediaFailure) {
      // The manifest has upcall's words only; what the decoder or ffmpeg said (`cause`) is for the log.
      log.warn(
        { code: result.code, reason: result.message, err: result.cause, attempt: lease.attempt },
        'media job failed',
      );
    } else {
      log.info({ outputs: manifest.outputs.length, steps, attempt: lease.attempt }, 'media job done');
    }
    return { outcome: manifest.status, taskId: plan.taskId, manifestKey, attempt: lease.attempt };
  } catch (error) {
    // Guard 10: give the job back so FC's retry can run it now rather than after the lease expires.
    await lease.release().catch((releaseError: unknown) => {
      log.error({ err: releaseError }, 'could not release the lease; the retry waits for it to expire');
    });
    throw error;
  } finally {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }
}
