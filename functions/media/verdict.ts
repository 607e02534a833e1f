/**
 * The verdict as a job sees it: the tags upcall put on the object (`rejected` by the object's own verdict, on either
 * path, or by the application's veto). A trigger-path job may run before the callback answered; when the application
 * can veto uploads (the upload hook is on), such a job waits for the callback's tag, or for the callback window to
 * close — and then, the callback having failed or never come (an uploader holding raw credentials may simply not
 * send one), asks the application itself, as the callback would have: a veto is never raced by processing, and never
 * skipped by leaving the callback out.
 *
 * Waiting holds no instance: the job re-queues itself instead of sleeping. The protocol, for check n (the dispatched
 * job is check 0; `verdictCheck` on the job counts the re-checks):
 *  1. A verdict tag on the object settles it: `rejected` ends the job unprocessed, anything else lets it run.
 *  2. None yet, the window (`requestedAt` + CALLBACK_WINDOW_MS) still open, and n < MAX_VERDICT_CHECKS: queue the
 *     same job as check n+1 for this function with FC's `x-fc-async-delay` (RECHECK_DELAY_SECONDS) and end the
 *     invocation. Its task id `<task id>-v<n+1>` differs from every other check's (FC refuses a task id it has
 *     seen) and is the same whichever run of check n queues it, so FC's retry of an invocation finds it "already
 *     queued" and cannot fork a second chain.
 *  3. None yet and the window closed — by the clock, or after MAX_VERDICT_CHECKS re-checks whatever the clock says,
 *     so the chain is finite: ask the application and record its answer as the callback would.
 * Each check starts the job over (manifest first, job.ts guard 4), so a run that finished meanwhile is not repeated.
 */
import {
  rejectedTags,
  UPLOAD_REASON_TAG,
  UPLOAD_STATUS_REJECTED,
  UPLOAD_STATUS_TAG,
} from '../../shared/callback-contract.js';
import type { DispatchOutcome } from '../../shared/fc-async-invoke.js';
import type { Logger } from '../../shared/log.js';
import type { MediaJob } from '../../shared/media-job.js';
import type { MediaStore } from './store.js';

/**
 * How long after the trigger path queued a job the callback may still refuse the upload: OSS waits 5 s for the
 * callback's answer, plus a margin for the callback function's own start.
 */
export const CALLBACK_WINDOW_MS = 6000;
/**
 * Seconds between checks: FC's delay counts whole seconds, and one keeps a trigger-first job about as prompt as the
 * callback's own dispatch once the verdict is in; each check is one short invocation.
 */
export const RECHECK_DELAY_SECONDS = 1;
/** Re-checks before the window counts as closed: the window's seconds, plus one for a delayed run that starts early. */
export const MAX_VERDICT_CHECKS = CALLBACK_WINDOW_MS / 1000 / RECHECK_DELAY_SECONDS + 1;

/** FC task id of check `check` of a job: deterministic per (job, check), never the job's own. */
export const verdictCheckTaskId = (taskId: string, check: number) => `${taskId}-v${check}`;

/** What a trigger-path job waits with when the application can veto uploads (the upload hook is on). */
export interface VetoDeps {
  /** Queue `job` (its next check) for this function under `taskId`, after `delaySeconds` (FC's async delay). */
  recheck(job: MediaJob, taskId: string, delaySeconds: number): Promise<DispatchOutcome>;
  /**
   * Ask the application about this upload (`upload.completed`, the event the callback sends, same id) when no
   * callback settled it. `unreachable` proceeds, as the callback's failure policies both do (the object is processed).
   */
  askApplication(
    job: MediaJob,
  ): Promise<{ kind: 'accepted' } | { kind: 'refused'; reason: string } | { kind: 'unreachable' }>;
}

export interface VerdictDeps {
  store: MediaStore;
  now: () => number;
  log: Logger;
  /** Absent: the application cannot veto uploads, and nothing is waited for. */
  veto?: VetoDeps;
}

export type UploadVerdict =
  | { kind: 'proceed' }
  | { kind: 'refused'; reason: string }
  /** No verdict yet: check `check` is queued under `taskId` to run in `delaySeconds`; this run ends here. */
  | { kind: 'recheck'; check: number; taskId: string; delaySeconds: number; queued: DispatchOutcome };

export async function uploadVerdict(job: MediaJob, deps: VerdictDeps): Promise<UploadVerdict> {
  let tags = await deps.store.tags(job.key);
  // No tags at all: the object is gone, and the job will find that out at once; nothing to wait for.
  if (job.source === 'trigger' && deps.veto && tags && !tags[UPLOAD_STATUS_TAG]) {
    const done = job.verdictCheck ?? 0;
    const windowLeftMs = job.requestedAt + CALLBACK_WINDOW_MS - deps.now();
    if (windowLeftMs > 0 && done < MAX_VERDICT_CHECKS) {
      const check = done + 1;
      const taskId = verdictCheckTaskId(job.taskId, check);
      const delaySeconds = RECHECK_DELAY_SECONDS;
      const queued = await deps.veto.recheck({ ...job, verdictCheck: check }, taskId, delaySeconds);
      deps.log.info(
        { check, recheckTaskId: taskId, delaySeconds, queued },
        'no verdict yet, and the application may still refuse the upload: checking again later',
      );
      return { kind: 'recheck', check, taskId, delaySeconds, queued };
    }
    const answer = await deps.veto.askApplication(job);
    deps.log.info({ answer: answer.kind }, 'no callback settled the upload: asked the application');
    if (answer.kind === 'refused') {
      tags = rejectedTags('RefusedByApplication');
      await deps.store.tag(job.key, tags);
    } else if (answer.kind === 'accepted') {
      await deps.store.tag(job.key, { [UPLOAD_STATUS_TAG]: 'accepted' });
    }
  }
  // Refused by the callback function (its own object, provably): kept and accounted for, never processed.
  if (tags?.[UPLOAD_STATUS_TAG] === UPLOAD_STATUS_REJECTED) {
    return { kind: 'refused', reason: tags[UPLOAD_REASON_TAG] ?? 'no reason recorded' };
  }
  return { kind: 'proceed' };
}
