/**
 * A local FC in a process of its own, for tests that kill it (SIGKILL) mid-invocation and start it again on the same
 * data dir. It registers `worker` (3 retries) and `once` (no retry), one invocation at a time each, whose handler
 * appends `{ fn, taskId, requestId, phase, at, pid }` lines to `runsFile` (`start`, then `done`). With `block`, a
 * handler never finishes and prints `RUNNING <task id>` instead. Prints `READY <json>` (endpoint, root key) once
 * listening, and `IDLE` once the async invocations it resumed at start have finished.
 * Input (environment): `LOCAL_FC_RUN`, JSON of `LocalFcRun`.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalAccount } from '../../local/credentials.js';
import { startLocalFc } from '../../local/fc/server.js';

export interface LocalFcRun {
  dataDir: string;
  runsFile: string;
  block: boolean;
}

export interface RunLine {
  fn: string;
  taskId: string;
  requestId: string;
  phase: 'start' | 'done';
  at: number;
  pid: number;
}

const input = JSON.parse(process.env.LOCAL_FC_RUN ?? '{}') as LocalFcRun;
const account = new LocalAccount(join(input.dataDir, 'account.json'));
const fc = await startLocalFc({
  account,
  region: 'cn-hangzhou',
  dataDir: join(input.dataDir, 'fc'),
  retryBackoffMs: 20,
});
const note = (line: Omit<RunLine, 'at' | 'pid'>) =>
  appendFileSync(input.runsFile, `${JSON.stringify({ ...line, at: Date.now(), pid: process.pid })}\n`);
for (const [fn, maxAsyncRetryAttempts] of [
  ['worker', 3],
  ['once', 0],
] as const) {
  fc.register(
    fn,
    async (event, context) => {
      const { taskId } = JSON.parse(event.toString('utf8')) as { taskId: string };
      note({ fn, taskId, requestId: context.requestId, phase: 'start' });
      if (input.block) {
        process.stdout.write(`RUNNING ${taskId}\n`);
        await new Promise(() => {});
      }
      note({ fn, taskId, requestId: context.requestId, phase: 'done' });
    },
    { maxAsyncRetryAttempts },
  );
}
process.stdout.write(`READY ${JSON.stringify({ endpoint: fc.endpoint, root: account.root })}\n`);
await fc.idle();
process.stdout.write('IDLE\n');
