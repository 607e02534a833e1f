/**
 * A media worker in a process of its own, for tests that kill it (SIGKILL) mid-job: it runs one job through the real
 * worker core against the local OSS, and stops — printing `HANG` — at the `HANG_AT_OUTPUT`-th output upload, so the
 * test knows the run holds the lease and has written part of its outputs when it kills it.
 * Input (environment): `MEDIA_JOB_RUN`, JSON of `MediaJobRun`.
 */
import type { MediaWorkerConfig } from '../../functions/media/config.js';
import { runMediaJob } from '../../functions/media/job.js';
import { createOssMediaStore } from '../../functions/media/store.js';
import { createLogger } from '../../shared/log.js';
import type { MediaJob } from '../../shared/media-job.js';
import { createOssClient } from '../../shared/oss-client.js';
import { testTools } from './media.js';

export interface MediaJobRun {
  oss: { endpoint: string; region: string; bucket: string };
  credentials: { accessKeyId: string; accessKeySecret: string };
  job: MediaJob;
  config: MediaWorkerConfig;
  requestId: string;
  scratchDir: string;
  /** Hang at this output upload (1 = the first). */
  hangAtOutput: number;
}

const input = JSON.parse(process.env.MEDIA_JOB_RUN ?? '{}') as MediaJobRun;
const store = createOssMediaStore(createOssClient({ ...input.oss, credentials: input.credentials }));
let outputs = 0;
const hanging: typeof store = {
  ...store,
  async write(key, body, options) {
    if (key.includes('/thumb-')) {
      outputs += 1;
      if (outputs === input.hangAtOutput) {
        process.stdout.write('HANG\n');
        await new Promise(() => {});
      }
    }
    return store.write(key, body, options);
  },
};

await runMediaJob(input.job, { requestId: input.requestId }, input.config, {
  store: hanging,
  tools: testTools,
  now: Date.now,
  log: createLogger('media-job-process'),
  scratchDir: input.scratchDir,
});
process.stdout.write('DONE\n');
