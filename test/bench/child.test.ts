import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startChild, stopAllChildren } from '../../bench/lib/child.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('benchmark children', () => {
  it('are all stopped by the runner when a bench fails after starting some of them', async () => {
    const first = await startChild<{ pid: number }>(fixture('idle-child.ts'));
    const second = await startChild<{ pid: number }>(fixture('idle-child.ts'));
    await expect(startChild(fixture('failing-child.ts'))).rejects.toThrow(/exited \(1\) before answering/);
    expect(first.process.exitCode).toBeNull();

    await stopAllChildren();
    for (const child of [first, second])
      expect(child.process.signalCode ?? child.process.exitCode).not.toBeNull();
  }, 30_000);
});
