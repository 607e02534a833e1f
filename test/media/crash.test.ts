/**
 * A worker killed mid-job (a real process, SIGKILL) does not lose the job: its lease stays live, nobody answers
 * "done" without a manifest, and the job completes exactly once — through FC's retry of the killed request at once,
 * or, when only another dispatch comes, after the dead run's lease expires.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import type { MediaWorkerConfig } from '../../functions/media/config.js';
import { JobHeldElsewhere } from '../../functions/media/job.js';
import { leaseKey } from '../../functions/media/lease.js';
import type { MediaStore } from '../../functions/media/store.js';
import type { MediaJob } from '../../shared/media-job.js';
import { planMediaJob } from '../../shared/media-job.js';
import { BUCKET, storedManifest, uploadPhoto, useMediaJobs, workerConfig } from '../helpers/media-cloud.js';
import type { MediaJobRun } from '../helpers/media-job-process.js';

const jobs = useMediaJobs('media-crash-test');

function planOf(job: MediaJob) {
  const plan = planMediaJob(job, workerConfig().plan);
  if (!plan) throw new Error('no plan');
  return plan;
}

/** Run the job in a worker process, and SIGKILL it once it holds the lease and has uploaded one output. */
async function killMidJob(job: MediaJob, requestId: string, config: MediaWorkerConfig): Promise<void> {
  const input: MediaJobRun = {
    oss: {
      endpoint: jobs.media.cloud.info.oss.endpoint,
      region: jobs.media.cloud.info.region,
      bucket: BUCKET,
    },
    credentials: jobs.media.cloud.info.rootCredentials,
    job,
    config,
    requestId,
    scratchDir: jobs.scratchDir,
    hangAtOutput: 2,
  };
  const worker = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '../helpers/media-job-process.ts')],
    {
      env: { ...process.env, MEDIA_JOB_RUN: JSON.stringify(input), UPCALL_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = once(worker, 'exit');
  for await (const line of createInterface({ input: worker.stdout })) {
    if (line === 'HANG') break;
    throw new Error(`the worker ended the job before it could be killed: ${line}`);
  }
  worker.kill('SIGKILL');
  const [code, signal] = await exited;
  expect([code, signal]).toEqual([null, 'SIGKILL']);
}

/** The store as this test's runs see it, counting manifest writes. */
function counting(job: MediaJob): { store: MediaStore; manifestWrites: () => number } {
  const real = jobs.media.store();
  const { manifestKey } = planOf(job);
  let writes = 0;
  return {
    store: {
      ...real,
      async write(key, body, options) {
        if (key === manifestKey) writes += 1;
        return real.write(key, body, options);
      },
    },
    manifestWrites: () => writes,
  };
}

async function leaseRecord(job: MediaJob, generation: number) {
  const body = await jobs.media.store().read(leaseKey(planOf(job).outputPrefix, generation));
  return body && (JSON.parse(body.toString('utf8')) as { holder: string; expiresAt: number });
}

describe('a worker killed mid-job (SIGKILL)', () => {
  it("leaves a live lease and no manifest; FC's retry completes the job once, a re-dispatch watching it ends done", async () => {
    const job = await uploadPhoto(jobs.media, 'uploads/k1/photo.jpg');
    await killMidJob(job, 'fc-request-1', workerConfig());
    const plan = planOf(job);
    const dead = await leaseRecord(job, 0);
    expect(dead?.holder).toBe('fc-request-1');
    expect(dead?.expiresAt).toBeGreaterThan(Date.now() + 30_000);
    expect(await jobs.media.store().head(plan.manifestKey)).toBeNull();
    expect(await jobs.media.store().head(plan.outputs[0]?.key ?? '')).not.toBeNull(); // written before the kill

    // A re-dispatch (another request) and FC's retry of the killed request arrive together.
    const { store, manifestWrites } = counting(job);
    const [redispatch, retry] = await Promise.all([
      jobs.run(job, { store }),
      jobs.run(job, { store }, workerConfig(), 'fc-request-1'),
    ]);
    expect(retry).toMatchObject({ outcome: 'succeeded', attempt: 2 });
    expect(redispatch).toMatchObject({ outcome: 'already-done' });
    expect(manifestWrites()).toBe(1);
    const { manifest } = await storedManifest(jobs.media, job);
    expect(manifest).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(manifest.outputs.map((output) => output.key)).toEqual(plan.outputs.map((output) => output.key));
  });

  it('with only another dispatch: it watches the dead lease and, retried as FC retries it, takes the job over once it expires', async () => {
    // A 12 s function timeout: the dead run's lease expires 12 s after it started.
    const config = workerConfig({ timeoutMs: 12_000 });
    const job = await uploadPhoto(jobs.media, 'uploads/k1/lost.jpg');
    await killMidJob(job, 'fc-request-2', config);
    const dead = await leaseRecord(job, 0);
    const { store, manifestWrites } = counting(job);

    // FC runs the dispatch, and retries it under the same request id while it throws (a lease outliving what an
    // attempt may watch); no attempt is recorded as done before the job is.
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 3 && !outcomes.includes('succeeded'); attempt++) {
      outcomes.push(
        await jobs.run(job, { store }, config, 'fc-request-3').then(
          (result) => result.outcome,
          (error: unknown) => (error instanceof JobHeldElsewhere ? 'held' : String(error)),
        ),
      );
    }
    expect(outcomes.at(-1)).toBe('succeeded');
    expect(outcomes.slice(0, -1).every((outcome) => outcome === 'held')).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(dead?.expiresAt ?? Number.POSITIVE_INFINITY);
    expect((await leaseRecord(job, 1))?.holder).toBe('fc-request-3');
    expect((await storedManifest(jobs.media, job)).manifest).toMatchObject({
      status: 'succeeded',
      attempt: 2,
    });
    expect(await jobs.run(job, { store }, config, 'fc-request-4')).toMatchObject({ outcome: 'already-done' });
    expect(manifestWrites()).toBe(1);
  });
});
