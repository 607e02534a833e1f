import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { treeCpuSeconds } from '../../bench/lib/cpu.js';

/** A child of this process that keeps one core busy for `ms`, then exits. */
const busyChild = (ms: number) =>
  spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end);`], {
    stdio: 'ignore',
  });

describe("a process tree's CPU time", () => {
  it('counts a live child, then the same time once it has ended and been waited for', async () => {
    const before = treeCpuSeconds(process.pid);
    const child = busyChild(600);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Still running: only the live child's own stat has its time.
    expect(child.exitCode).toBeNull();
    const running = treeCpuSeconds(process.pid) - before;
    expect(running).toBeGreaterThan(0.05);
    await once(child, 'exit');
    // Waited for: its time moved into this process's cutime, not lost and not counted twice.
    const ended = treeCpuSeconds(process.pid) - before;
    expect(ended).toBeGreaterThan(running);
    expect(ended).toBeLessThan(running + 1);
  });
});
