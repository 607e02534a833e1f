/**
 * The job lease: at most one run of an object version's job at a time. The model is AWS Powertools' idempotency
 * record — acquiring is ONE conditional write in the store, the record holds an expiry in epoch ms, "expired" is
 * derived when read (never stored), a run that fails transiently releases its lease so FC's retry can start, and the
 * manifest (written last) is the completed record.
 *
 * OSS's only conditional write is create-if-absent (`x-oss-forbid-overwrite`); it has no compare-and-swap and no
 * conditional delete. So a lease object is never reused or deleted: taking over an expired or released lease means
 * creating the next generation (`lease-1.json`, `lease-2.json`, …) — again one create-if-absent, so of two runs racing
 * for the same takeover exactly one wins. Only a lease's holder ever rewrites it (to release it). The generations
 * form a gap-free sequence, so the current one is found by reading upwards from 0; their count is the number of
 * attempts, which bounds retries of a job that keeps dying.
 */
import { type Static, Type } from '@sinclair/typebox';
import { compileSchema, parseStored } from '../../shared/schema.js';
import type { MediaStore } from './store.js';

const LeaseRecordSchema = Type.Object({
  taskId: Type.String(),
  /** The FC request id of the run holding it. */
  holder: Type.String(),
  generation: Type.Integer({ minimum: 0 }),
  acquiredAt: Type.Integer(),
  /** Epoch ms; the lease is live while now < expiresAt. Releasing sets it to the release time. */
  expiresAt: Type.Integer(),
});
type LeaseRecord = Static<typeof LeaseRecordSchema>;
const leaseValidator = compileSchema(LeaseRecordSchema);

export interface LeaseOptions {
  /** The job's output folder (`…/<etag>/`); lease objects live beside the outputs. */
  prefix: string;
  taskId: string;
  holder: string;
  /**
   * When a new lease expires: the run's own deadline (invocation start + the function's timeout), so a run FC kills
   * at its timeout leaves a lease that has expired by the time FC's retry arrives.
   */
  expiresAt: number;
  /** Generations allowed before the job is declared stuck. */
  maxAttempts: number;
  now: () => number;
}

export interface HeldLease {
  /** 1 for the first attempt. */
  attempt: number;
  /** Give the lease up early so another run (FC's retry) may take over at once. */
  release(): Promise<void>;
}

export type LeaseResult =
  | { status: 'acquired'; lease: HeldLease }
  /** Another run holds a live lease: it owns the job until it finishes, releases, or its lease expires. */
  | { status: 'held'; holder: string; expiresAt: number }
  /** Every allowed attempt was used up without a manifest. */
  | { status: 'exhausted'; attempts: number };

export const leaseKey = (prefix: string, generation: number) => `${prefix}lease-${generation}.json`;

const LEASE_TYPE = 'application/json';

export async function acquireLease(store: MediaStore, options: LeaseOptions): Promise<LeaseResult> {
  for (let generation = 0; generation < options.maxAttempts; generation++) {
    const key = leaseKey(options.prefix, generation);
    const existing = await store.read(key);
    if (existing) {
      const record = parseStored(leaseValidator, existing);
      // A previous run of this same FC request (FC runs one attempt of a request at a time, so it is dead) or an
      // expired/released/unreadable lease: take over with the next generation.
      const live = record !== null && options.now() < record.expiresAt && record.holder !== options.holder;
      if (live) return { status: 'held', holder: record.holder, expiresAt: record.expiresAt };
      continue;
    }
    const record: LeaseRecord = {
      taskId: options.taskId,
      holder: options.holder,
      generation,
      acquiredAt: options.now(),
      expiresAt: options.expiresAt,
    };
    const created = await store.create(key, Buffer.from(JSON.stringify(record)), { contentType: LEASE_TYPE });
    if (!created) {
      // Lost the race for this generation: the winner's lease is brand new, hence live.
      return { status: 'held', holder: 'unknown (just acquired)', expiresAt: options.expiresAt };
    }
    return {
      status: 'acquired',
      lease: {
        attempt: generation + 1,
        async release() {
          const released: LeaseRecord = { ...record, expiresAt: options.now() };
          await store.write(key, Buffer.from(JSON.stringify(released)), { contentType: LEASE_TYPE });
        },
      },
    };
  }
  return { status: 'exhausted', attempts: options.maxAttempts };
}
