/**
 * The local FC keeps what FC keeps: async invocations accepted by a local FC that is then killed (a real process,
 * SIGKILL) are resumed by the next one started on the same data dir — the running one retried under its request id,
 * the queued one run, the delayed one still delayed — each completing exactly once, and their task ids stay taken.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { InvokeFunctionHeaders, InvokeFunctionRequest } from '@alicloud/fc20230330';
import { RuntimeOptions } from '@darabonba/typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { INSTANCE_DIED_MESSAGE } from '../../../local/fc/functions.js';
import { type ClientCredentials, localFcClient, sdkError } from '../../helpers/alicloud-clients.js';
import type { LocalFcRun, RunLine } from '../../helpers/local-fc-process.js';

const dir = mkdtempSync(join(tmpdir(), 'upcall-fc-durable-'));
const runsFile = join(dir, 'runs.jsonl');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  endpoint: string;
  root: ClientCredentials;
  /** Resolves with the next stdout line that starts with `prefix`. */
  line(prefix: string): Promise<string>;
}

async function startFc(block: boolean): Promise<Started> {
  const input: LocalFcRun = { dataDir: join(dir, 'data'), runsFile, block };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '../../helpers/local-fc-process.ts')],
    {
      env: { ...process.env, LOCAL_FC_RUN: JSON.stringify(input), UPCALL_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const seen: string[] = [];
  const waiting: Array<{ prefix: string; resolve(line: string): void }> = [];
  createInterface({ input: child.stdout as Readable }).on('line', (text) => {
    const waiter = waiting.find((w) => text.startsWith(w.prefix));
    if (waiter) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(text);
    } else seen.push(text);
  });
  const line = (prefix: string) => {
    const earlier = seen.findIndex((text) => text.startsWith(prefix));
    if (earlier >= 0) return Promise.resolve(seen.splice(earlier, 1)[0] as string);
    return new Promise<string>((resolve) => waiting.push({ prefix, resolve }));
  };
  const ready = JSON.parse((await line('READY ')).slice('READY '.length)) as {
    endpoint: string;
    root: ClientCredentials;
  };
  return { child, ...ready, line };
}

async function invokeAsync(fc: Started, fn: string, taskId: string, delaySeconds = 0) {
  const response = await localFcClient(fc.endpoint, fc.root).invokeFunctionWithOptions(
    fn,
    new InvokeFunctionRequest({ body: Readable.from([Buffer.from(JSON.stringify({ taskId }))]) }),
    new InvokeFunctionHeaders({
      xFcInvocationType: 'Async',
      xFcAsyncTaskId: taskId,
      ...(delaySeconds ? { commonHeaders: { 'x-fc-async-delay': String(delaySeconds) } } : {}),
    }),
    new RuntimeOptions({ autoretry: false }),
  );
  expect(response.statusCode).toBe(202);
  return response.headers?.['x-fc-request-id'] as string;
}

const runs = () =>
  readFileSync(runsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((text) => JSON.parse(text) as RunLine);

describe('a local FC killed mid-invocation (SIGKILL) and started again on its data dir', () => {
  it('resumes what was queued or running: each invocation completes once, the running one as a retry', async () => {
    const first = await startFc(true);
    const acceptedAt = Date.now();
    const running = await invokeAsync(first, 'worker', 'job_running');
    const queued = await invokeAsync(first, 'worker', 'job_queued'); // behind job_running: one at a time
    const delayed = await invokeAsync(first, 'worker', 'job_delayed', 3);
    const noRetry = await invokeAsync(first, 'once', 'job_no_retry');
    await first.line('RUNNING job_running');
    await first.line('RUNNING job_no_retry');
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    expect(await exited).toEqual([null, 'SIGKILL']);
    expect(Date.now() - acceptedAt).toBeLessThan(3000); // killed before the delayed one was due

    const second = await startFc(false);
    await second.line('IDLE');
    const lines = runs();
    const of = (taskId: string, phase: RunLine['phase']) =>
      lines.filter((l) => l.taskId === taskId && l.phase === phase);
    // Retried under the same request id, as FC retries an invocation whose instance died; finished once.
    expect(of('job_running', 'start').map((l) => [l.pid, l.requestId])).toEqual([
      [first.child.pid, running],
      [second.child.pid, running],
    ]);
    expect(of('job_running', 'done').map((l) => l.pid)).toEqual([second.child.pid]);
    expect(of('job_queued', 'start').map((l) => [l.pid, l.requestId])).toEqual([[second.child.pid, queued]]);
    expect(of('job_queued', 'done')).toHaveLength(1);
    const delayedRuns = of('job_delayed', 'start');
    expect(delayedRuns.map((l) => [l.pid, l.requestId])).toEqual([[second.child.pid, delayed]]);
    expect(delayedRuns[0]?.at).toBeGreaterThanOrEqual(acceptedAt + 3000);
    expect(of('job_delayed', 'done')).toHaveLength(1);
    // No retries left: the death of its instance dead-letters it, and it is not run again.
    expect(of('job_no_retry', 'start').map((l) => l.pid)).toEqual([first.child.pid]);
    expect(of('job_no_retry', 'done')).toEqual([]);

    const listed = async (path: string) => (await fetch(`${second.endpoint}/_local/${path}`)).json();
    expect(await listed('invocations?function=worker')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          taskId: 'job_running',
          status: 'succeeded',
          attempts: 2,
          errors: [INSTANCE_DIED_MESSAGE],
        }),
        expect.objectContaining({ taskId: 'job_queued', status: 'succeeded', attempts: 1, errors: [] }),
        expect.objectContaining({ taskId: 'job_delayed', status: 'succeeded', attempts: 1 }),
      ]),
    );
    expect(await listed('dead-letters')).toEqual([
      expect.objectContaining({
        functionName: 'once',
        taskId: 'job_no_retry',
        requestId: noRetry,
        attempts: 1,
        lastErrorMessage: INSTANCE_DIED_MESSAGE,
      }),
    ]);

    // Task ids outlive the process (FC remembers them for 7 days): a resubmission is refused.
    const repeat = await sdkError(() => invokeAsync(second, 'worker', 'job_queued'));
    expect(repeat).toMatchObject({ statusCode: 409, code: 'StatefulAsyncInvocationAlreadyExists' });

    // A third start finds everything finished: nothing runs again.
    second.child.kill('SIGKILL');
    const before = runs().length;
    const third = await startFc(false);
    await third.line('IDLE');
    expect(await (await fetch(`${third.endpoint}/_local/invocations`)).json()).toHaveLength(4);
    expect(runs()).toHaveLength(before);
    third.child.kill('SIGKILL');
  }, 30_000);
});
