/**
 * `npm run dev` killed mid-job — SIGKILL to npm and everything under it, the media worker's ffmpeg included — and
 * started again on the same data dir and ports: the local FC resumes the invocation that was running (a failed
 * attempt, retried as FC retries one whose instance died), the job completes exactly once, and `npm run upload`,
 * waiting on it across the outage, gets its manifest.
 */
import { randomInt } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leaseKey } from '../../../functions/media/lease.js';
import { readDevStackInfo } from '../../../local/dev/stack-info.js';
import { INSTANCE_DIED_MESSAGE } from '../../../local/fc/functions.js';
import type { InvocationRecord } from '../../../local/fc/server.js';
import { closeServer, listen } from '../../../local/listen.js';
import { SETTINGS } from '../../../shared/config.js';
import { type MediaJob, planMediaJob } from '../../../shared/media-job.js';
import type { MediaManifest } from '../../../shared/media-manifest.js';
import { createOssClient } from '../../../shared/oss-client.js';
import { waitForObject } from '../../helpers/dev-stack.js';
import { generateVideo } from '../../helpers/media.js';
import { workerConfig } from '../../helpers/media-cloud.js';
import { npmScriptSandbox } from '../../helpers/npm-script.js';

/** What `/_local/invocations` lists: the record with its event as text. */
type ListedInvocation = Omit<InvocationRecord, 'event'> & { event: string };

/**
 * Free ports below Linux's ephemeral range (32768–60999): a port the kernel hands out, to any port-0 listener or
 * outgoing connection on the machine, could be taken between this check and the stack's start or restart.
 */
async function fixedPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = 20_000 + randomInt(12_000);
    const server = createServer();
    const free = await listen(server, port).then(
      () => true,
      () => false,
    );
    if (!free) continue;
    await closeServer(server);
    ports.add(port);
  }
  return [...ports];
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe('the dev stack killed mid-job (SIGKILL) and started again', () => {
  const scripts = npmScriptSandbox();

  it('completes the running job once, and the waiting upload gets its manifest', async () => {
    const { UPCALL_BUCKET: _bucket, UPCALL_CORS_ORIGINS: _origins, ...base } = process.env;
    // Fixed ports: the restarted stack is where the waiting upload and this test left it.
    const ports = Object.keys(SETTINGS).filter((name) => name.endsWith('_PORT'));
    const env: NodeJS.ProcessEnv = {
      ...base,
      ...Object.fromEntries((await fixedPorts(ports.length)).map((port, i) => [ports[i], String(port)])),
      UPCALL_LOCAL_DATA_DIR: join(scripts.dir, 'data'),
      UPCALL_LOG_LEVEL: 'silent',
    };
    const fcUrl = `http://127.0.0.1:${env.UPCALL_LOCAL_FC_PORT}`;
    // The video function's invocations: video jobs only (the OSS trigger and webhook retries are the image function's).
    const invocations = async () =>
      (await (
        await fetch(`${fcUrl}/_local/invocations?function=upcall-media-video`)
      ).json()) as ListedInvocation[];

    const first = scripts.start(['dev'], env);
    await first.ready('Press Ctrl-C', 60_000);
    const file = join(scripts.dir, 'clip.mp4');
    // Long enough to transcode that the kill lands mid-job.
    await generateVideo(file, { width: 1280, height: 720, seconds: 6, noise: true });
    const upload = scripts.start(
      ['upload', '--', file, '--user', 'alice', '--json', '--timeout', '150'],
      env,
    );

    let running: ListedInvocation | undefined;
    while (!running) {
      running = (await invocations()).find((record) => record.status === 'running');
      if (!running) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Mid-job: the run holds the job's lease (and has written nothing else yet).
    const info = readDevStackInfo(join(String(env.UPCALL_LOCAL_DATA_DIR), 'stack.json'));
    const root = createOssClient({
      endpoint: info.oss.endpoint,
      region: info.region,
      bucket: info.bucket,
      credentials: info.rootCredentials,
      timeoutMs: 10_000,
    });
    const plan = planMediaJob(JSON.parse(running.event) as MediaJob, workerConfig().plan);
    await waitForObject(root, leaseKey(plan?.outputPrefix ?? '', 0));
    first.kill();
    expect(await first.exited).toBeNull(); // killed by the signal
    expect(count(first.stdout, 'webhook  media.')).toBe(0);

    const second = scripts.start(['dev'], env);
    await second.ready('Press Ctrl-C', 60_000);
    expect(await upload.exited, upload.stderr).toBe(0);
    const result = JSON.parse(upload.stdout) as {
      jobs: Array<{ manifestKey: string; manifest: MediaManifest }>;
    };
    expect(result.jobs).toHaveLength(1);
    expect(result.jobs[0]?.manifest).toMatchObject({ status: 'succeeded', kind: 'video', attempt: 2 });

    // The running invocation, retried under its request id; nothing else ran the job. The webhook is sent before the
    // invocation returns, so its record may still say running for a moment: polled until it has settled.
    await second.ready('webhook  media.ready', 30_000);
    await expect
      .poll(
        async () =>
          (await invocations()).map(({ requestId, status, attempts, errors }) => ({
            requestId,
            status,
            attempts,
            errors,
          })),
        { timeout: 30_000, interval: 100 },
      )
      .toEqual([
        { requestId: running.requestId, status: 'succeeded', attempts: 2, errors: [INSTANCE_DIED_MESSAGE] },
      ]);
    expect(count(second.stdout, 'webhook  media.')).toBe(1);
    second.kill();
  }, 180_000);
});
