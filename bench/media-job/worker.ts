/**
 * The media function in its own process, as one FC instance runs it, pinned (`taskset`) or not by the runner: each
 * message is a job, run as one invocation of the handler, answered with its wall time. Ready, it says how many cores
 * it sees (`os.availableParallelism()`: the affinity mask, which ffmpeg's automatic thread count follows too).
 * argv[2]: the scratch directory; argv[3]: the function role's credentials (JSON). Its settings come from env.
 */
import { availableParallelism } from 'node:os';
import { createMediaHandler } from '../../functions/media/app.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import type { MediaJob } from '../../shared/media-job.js';
import { reply, serveRequests } from '../lib/child.js';
import { invokeJob } from '../lib/media-job.js';

const [scratchDir, credentialsJson] = process.argv.slice(2) as [string, string];
const credentials = JSON.parse(credentialsJson) as RoleCredentials;
const handler = createMediaHandler(process.env, { scratchDir });
let invocations = 0;
serveRequests(async (job) => {
  invocations += 1;
  return { ms: await invokeJob(handler, job as MediaJob, `bench-${invocations}`, credentials) };
});
reply({ ready: { cores: availableParallelism() } });
