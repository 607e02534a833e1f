/** The job lease through its interface, against an in-memory store with OSS's one conditional write. */
import { describe, expect, it } from 'vitest';
import { acquireLease, type LeaseOptions, type LeaseResult } from '../../functions/media/lease.js';
import type { MediaStore } from '../../functions/media/store.js';

/** The part of OSS the lease uses: read, overwrite, and create-if-absent (`x-oss-forbid-overwrite`). */
function memoryStore(): MediaStore & { keys(): string[] } {
  const objects = new Map<string, Buffer>();
  const unused = () => {
    throw new Error('not used by the lease');
  };
  return {
    keys: () => [...objects.keys()].sort(),
    head: unused,
    openRead: unused,
    writeFile: unused,
    tags: unused,
    tag: unused,
    async read(key) {
      return objects.get(key) ?? null;
    },
    async write(key, body) {
      objects.set(key, body);
    },
    async create(key, body) {
      if (objects.has(key)) return false;
      objects.set(key, body);
      return true;
    },
  };
}

const PREFIX = 'derived/uploads/u/a.jpg/ETAG/';

function options(clock: { now: number }, overrides: Partial<LeaseOptions> = {}): LeaseOptions {
  return {
    prefix: PREFIX,
    taskId: 'upcall-task',
    holder: 'request-a',
    expiresAt: clock.now + 60_000,
    maxAttempts: 3,
    now: () => clock.now,
    ...overrides,
  };
}

function acquired(result: LeaseResult) {
  if (result.status !== 'acquired') throw new Error(`expected acquired, got ${result.status}`);
  return result.lease;
}

describe('job lease', () => {
  it('the first run acquires attempt 1; another run meets the live lease and is told who holds it until when', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    expect(acquired(await acquireLease(store, options(clock))).attempt).toBe(1);
    expect(await acquireLease(store, options(clock, { holder: 'request-b' }))).toEqual({
      status: 'held',
      holder: 'request-a',
      expiresAt: 1_060_000,
    });
  });

  it('is live until the instant it expires, then the next run takes over as the next attempt', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    acquired(await acquireLease(store, options(clock)));
    clock.now = 1_059_999;
    expect((await acquireLease(store, options(clock, { holder: 'request-b' }))).status).toBe('held');
    clock.now = 1_060_000;
    expect(acquired(await acquireLease(store, options(clock, { holder: 'request-b' }))).attempt).toBe(2);
  });

  it('a released lease is free at once', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    await acquired(await acquireLease(store, options(clock))).release();
    expect(acquired(await acquireLease(store, options(clock, { holder: 'request-b' }))).attempt).toBe(2);
  });

  it("a later attempt of the same FC request takes over its dead predecessor's live lease", async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    acquired(await acquireLease(store, options(clock)));
    expect(acquired(await acquireLease(store, options(clock))).attempt).toBe(2);
  });

  it('of two runs racing for the same free lease exactly one wins', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    const results = await Promise.all(
      ['a', 'b', 'c'].map((holder) => acquireLease(store, options(clock, { holder }))),
    );
    expect(results.filter((r) => r.status === 'acquired')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'held')).toHaveLength(2);
    expect(store.keys()).toEqual([`${PREFIX}lease-0.json`]);
  });

  it('never rewrites another holder’s record, and counts attempts up to the bound', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    for (const holder of ['a', 'b', 'c']) {
      const lease = acquired(await acquireLease(store, options(clock, { holder })));
      await lease.release();
    }
    expect(await acquireLease(store, options(clock, { holder: 'd' }))).toEqual({
      status: 'exhausted',
      attempts: 3,
    });
    expect(store.keys()).toEqual([0, 1, 2].map((n) => `${PREFIX}lease-${n}.json`));
  });

  it('an unreadable record counts as expired, never as a live holder', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    await store.create(`${PREFIX}lease-0.json`, Buffer.from('not json'), { contentType: 'application/json' });
    expect(acquired(await acquireLease(store, options(clock))).attempt).toBe(2);
  });
});
