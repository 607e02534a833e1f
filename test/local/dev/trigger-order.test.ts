/**
 * The dev stack orders events as OSS does: the upload's callback is synchronous, the OSS trigger's event reaches FC
 * afterwards (`UPCALL_LOCAL_TRIGGER_DELAY_MS`), so a healthy callback processes every upload. With delay 0 the
 * trigger can win the race, and the job still runs exactly once.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MediaManifest } from '../../../shared/media-manifest.js';
import { type E2eStack, useE2eStack } from '../../helpers/dev-stack.js';
import { solidPng } from '../../helpers/media.js';

interface JsonResult {
  key: string;
  jobs: Array<{ manifestKey: string; manifest: MediaManifest }>;
}

async function uploadPng(e2e: E2eStack, name: string): Promise<JsonResult> {
  const path = join(e2e.dataDir, name);
  const png = await solidPng(48, 32, '#3478c8');
  await writeFile(path, png);
  const run = await e2e.upload([path, '--user', 'order', '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as JsonResult;
}

describe('the dev stack with the default trigger delay', () => {
  const e2e = useE2eStack();

  it('processes sequential uploads by the callback path, as production does', async () => {
    const sources: string[] = [];
    for (let i = 0; i < 8; i++) {
      const result = await uploadPng(e2e, `ordered-${i}.png`);
      sources.push(...result.jobs.map((job) => job.manifest.source));
    }
    expect(sources).toHaveLength(8);
    expect(
      sources.every((source) => source === 'callback'),
      sources.join(','),
    ).toBe(true);
    // The trigger still fires for each upload (later) and finds the job already done: nothing runs twice.
    await e2e.stack.cloud.fc.idle();
    const runs = e2e.stack.cloud.fc.invocations().filter((record) => record.status === 'succeeded');
    expect(runs.length).toBeGreaterThanOrEqual(16);
  });
});

describe('the dev stack with trigger delay 0 (the trigger-first race)', () => {
  const e2e = useE2eStack({ triggerDelayMs: 0 });

  it('processes each upload exactly once whichever path queues it first', async () => {
    for (let i = 0; i < 3; i++) {
      const result = await uploadPng(e2e, `raced-${i}.png`);
      expect(result.jobs).toHaveLength(1);
      expect(result.jobs[0]?.manifest.status).toBe('succeeded');
      expect(['callback', 'trigger']).toContain(result.jobs[0]?.manifest.source);
    }
  });
});
