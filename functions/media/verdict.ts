/**
 * The callback's verdict as a job sees it: the tags the callback function puts on the object it refused. A
 * trigger-path job may run before the callback answered; when the application can veto uploads (the upload hook is
 * on), such a job waits for the verdict tag, or for the callback window to close (the callback failed or never came,
 * and this trigger path is the backstop), so a veto is never raced by processing.
 */
import { UPLOAD_REASON_TAG, UPLOAD_STATUS_TAG } from '../../shared/callback-contract.js';
import type { Logger } from '../../shared/log.js';
import type { MediaJob } from '../../shared/media-job.js';
import type { MediaStore } from './store.js';

/**
 * How long after the trigger path queued a job the callback may still refuse the upload: OSS waits 5 s for the
 * callback's answer, plus a margin for the callback function's own start.
 */
export const CALLBACK_WINDOW_MS = 6000;
/** How often a waiting trigger-path job looks for the callback's verdict tag. */
const VERDICT_POLL_MS = 250;

export interface VerdictDeps {
  store: MediaStore;
  now: () => number;
  log: Logger;
  /** The callback function asks the application before it queues a job (an upload hook is configured). */
  awaitUploadVerdict: boolean;
  sleep(ms: number): Promise<void>;
}

export type UploadVerdict = { refused: false } | { refused: true; reason: string };

export async function uploadVerdict(job: MediaJob, deps: VerdictDeps): Promise<UploadVerdict> {
  let tags = await deps.store.tags(job.key);
  if (job.source === 'trigger' && deps.awaitUploadVerdict) {
    const windowEnds = job.requestedAt + CALLBACK_WINDOW_MS;
    if (!tags?.[UPLOAD_STATUS_TAG] && deps.now() < windowEnds) {
      deps.log.info(
        { windowEnds },
        'waiting for the callback verdict: the application may still refuse the upload',
      );
    }
    while (!tags?.[UPLOAD_STATUS_TAG] && deps.now() < windowEnds) {
      await deps.sleep(Math.min(VERDICT_POLL_MS, windowEnds - deps.now()));
      tags = await deps.store.tags(job.key);
    }
  }
  // Refused by the callback function (its own object, provably): kept and accounted for, never processed.
  if (tags?.[UPLOAD_STATUS_TAG] === 'rejected') {
    return { refused: true, reason: tags[UPLOAD_REASON_TAG] ?? 'no reason recorded' };
  }
  return { refused: false };
}
