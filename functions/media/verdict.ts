/**
 * The verdict as a job sees it: the tags upcall put on the object (`rejected` by the object's own verdict, on either
 * path, or by the application's veto). A trigger-path job may run before the callback answered; when the application
 * can veto uploads (the upload hook is on), such a job waits for the callback's tag, or for the callback window to
 * close — and then, the callback having failed or never come (an uploader holding raw credentials may simply not
 * send one), asks the application itself, as the callback would have: a veto is never raced by processing, and never
 * skipped by leaving the callback out.
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
  /**
   * Ask the application about this upload (`upload.completed`, the event the callback sends, same id) when no
   * callback settled it. `unreachable` proceeds, as the callback's failure policies both do (the object is processed).
   */
  askApplication?: (
    job: MediaJob,
  ) => Promise<{ kind: 'accepted' } | { kind: 'refused'; reason: string } | { kind: 'unreachable' }>;
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
    if (tags && !tags[UPLOAD_STATUS_TAG] && deps.askApplication) {
      const answer = await deps.askApplication(job);
      deps.log.info({ answer: answer.kind }, 'no callback settled the upload: asked the application');
      if (answer.kind === 'refused') {
        tags = { [UPLOAD_STATUS_TAG]: 'rejected', [UPLOAD_REASON_TAG]: 'RefusedByApplication' };
        await deps.store.tag(job.key, tags);
      } else if (answer.kind === 'accepted') {
        await deps.store.tag(job.key, { [UPLOAD_STATUS_TAG]: 'accepted' });
      }
    }
  }
  // Refused by the callback function (its own object, provably): kept and accounted for, never processed.
  if (tags?.[UPLOAD_STATUS_TAG] === 'rejected') {
    return { refused: true, reason: tags[UPLOAD_REASON_TAG] ?? 'no reason recorded' };
  }
  return { refused: false };
}
