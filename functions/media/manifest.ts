/**
 * Manifest I/O: reading a job's manifest (an invalid one counts as absent), building it from a run's result, and
 * writing it — always the last write of a job, since its presence is what "done" means (shared/media-manifest.ts).
 */
import type { Logger } from '../../shared/log.js';
import type { MediaJob, MediaPlan } from '../../shared/media-job.js';
import {
  MANIFEST_CONTENT_TYPE,
  type MediaManifest,
  type MediaOutput,
  mediaManifestValidator,
  SOURCE_ETAG_HEADER,
} from '../../shared/media-manifest.js';
import { MediaFailure } from './failure.js';
import type { MediaStore } from './store.js';

/** What a successful render produced: what was learnt of the source, and every planned output as stored. */
export interface Rendered {
  input: NonNullable<MediaManifest['input']>;
  outputs: MediaOutput[];
}

/** Outputs are immutable per object version; the manifest is polled, so it must not be cached. */
const MANIFEST_CACHE_CONTROL = 'no-cache';

export async function readManifest(
  store: MediaStore,
  key: string,
  log: Logger,
): Promise<MediaManifest | null> {
  const body = await store.read(key);
  if (!body) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const checked = mediaManifestValidator.validate(parsed);
  if (checked.ok) return checked.value;
  // Not ours (edited by hand?): treat as absent, so the job runs and writes a valid one.
  log.warn({ manifestKey: key }, 'ignoring an invalid manifest');
  return null;
}

export function buildManifest(
  job: MediaJob,
  plan: MediaPlan,
  attempt: number,
  timings: MediaManifest['timings'],
  result: Rendered | MediaFailure,
): MediaManifest {
  const common = {
    version: 1 as const,
    taskId: plan.taskId,
    bucket: job.bucket,
    key: job.key,
    etag: job.etag,
    kind: plan.kind,
    contentType: job.contentType,
    size: job.size,
    source: job.source,
    attempt,
    timings,
  };
  if (result instanceof MediaFailure) {
    return {
      ...common,
      status: 'failed',
      outputs: [],
      error: { code: result.code, message: result.message },
    };
  }
  return { ...common, status: 'succeeded', input: result.input, outputs: result.outputs };
}

export async function writeManifest(
  store: MediaStore,
  plan: MediaPlan,
  manifest: MediaManifest,
): Promise<void> {
  await store.write(plan.manifestKey, Buffer.from(JSON.stringify(manifest, null, 2)), {
    contentType: MANIFEST_CONTENT_TYPE,
    headers: { 'Cache-Control': MANIFEST_CACHE_CONTROL, [SOURCE_ETAG_HEADER]: manifest.etag },
  });
}
