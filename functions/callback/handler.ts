/**
 * The callback function's core: OSS's upload callback in, a JSON answer out, within a hard deadline.
 * Order matters: signature, body and ticket are checked without touching the network; only then is OSS asked about
 * the object, then the application (when an upload hook is configured: it may still refuse the upload), and only
 * then is the media job dispatched — so a veto never leaves a job behind. Every answer is derived from the request
 * (and the application's answer for the event's stable id), so a replayed callback gets the same answer, and the
 * job's deterministic task id means it starts nothing new.
 */
import {
  type CallbackAnswer,
  parseCallbackBody,
  UPLOAD_REASON_TAG,
  UPLOAD_STATUS_TAG,
  type UploadNotice,
  type UploadStatusTag,
} from '../../shared/callback-contract.js';
import { verifyOssCallback } from '../../shared/callback-signature.js';
import type { DispatchOutcome } from '../../shared/fc-async-invoke.js';
import {
  type EdgeContext,
  type EdgeHandler,
  type EdgeRequest,
  HttpError,
  jsonResponse,
  type RoleCredentials,
} from '../../shared/http/edge.js';
import type { Logger } from '../../shared/log.js';
import { type MediaJob, type MediaPlan, planMediaJob } from '../../shared/media-job.js';
import { type UploadTicket, verifyUploadTicket } from '../../shared/upload-ticket.js';
import { uploadCompletedMessage } from '../../shared/webhook-events.js';
import { checkClaimsAgainstObject, checkClaimsAgainstTicket, type Refusal } from './check-upload.js';
import type { CallbackConfig } from './config.js';
import type { CallbackObjectStore } from './object-store.js';
import { consultApplication, type UploadHookDeps } from './upload-hook.js';

/** Rendered bodies are small (a template ≤ 5 KB, a 1023-byte key percent-encoded, the ticket). */
export const MAX_CALLBACK_BODY_BYTES = 32 * 1024;
/** Time kept back from the deadline to write the answer. */
const ANSWER_MARGIN_MS = 150;

export interface CallbackDeps {
  objectStore(credentials: RoleCredentials | undefined): CallbackObjectStore;
  dispatch(
    job: MediaJob,
    credentials: RoleCredentials | undefined,
    timeoutMs: number,
  ): Promise<DispatchOutcome>;
  now(): number;
  /** The application's upload hook; required when the config has one. */
  uploadHook?: UploadHookDeps;
}

class DeadlineExceeded extends Error {}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return Promise.reject(new DeadlineExceeded());
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded()), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

function answerFor(notice: UploadNotice, ticket: UploadTicket, plan: MediaPlan | null): CallbackAnswer {
  return {
    status: 'accepted',
    object: {
      bucket: notice.bucket,
      key: notice.key,
      etag: notice.etag,
      size: notice.size,
      contentType: notice.contentType,
      image: notice.image,
    },
    userId: ticket.userId,
    jobs: plan
      ? [
          {
            kind: plan.kind,
            taskId: plan.taskId,
            manifestKey: plan.manifestKey,
            outputs: plan.outputs.map(({ role, key, contentType }) => ({ role, key, contentType })),
          },
        ]
      : [],
  };
}

export function createCallbackHandler(config: CallbackConfig, deps: CallbackDeps): EdgeHandler {
  if (config.uploadHook && !deps.uploadHook)
    throw new Error('an upload hook is configured without its client');
  async function refuse(
    refusal: Refusal,
    notice: UploadNotice,
    tag: UploadStatusTag | null,
    store: CallbackObjectStore | null,
    remainingMs: () => number,
    log: Logger,
  ): Promise<never> {
    if (tag && store) {
      try {
        await within(
          store.tag(
            notice.key,
            { [UPLOAD_STATUS_TAG]: tag, [UPLOAD_REASON_TAG]: refusal.code },
            remainingMs(),
          ),
          remainingMs(),
        );
      } catch (error) {
        // The refusal stands; the object stays stored and this log line accounts for it.
        log.error({ err: error, key: notice.key, tag }, 'could not tag a refused upload');
      }
    }
    log.warn(
      { outcome: 'refused', code: refusal.code, tagged: tag, userClaimedKey: notice.key },
      refusal.message,
    );
    throw new HttpError(refusal.status, refusal.code, refusal.message);
  }

  async function handle(
    request: EdgeRequest,
    context: EdgeContext,
  ): Promise<ReturnType<typeof jsonResponse>> {
    const deadline = deps.now() + config.deadlineMs - ANSWER_MARGIN_MS;
    const remainingMs = () => deadline - deps.now();

    if (request.method !== 'POST') {
      throw new HttpError(405, 'MethodNotAllowed', 'OSS upload callbacks are POST requests', {
        allow: 'POST',
      });
    }
    if (request.body.byteLength > MAX_CALLBACK_BODY_BYTES) {
      throw new HttpError(413, 'BodyTooLarge', `callback body exceeds ${MAX_CALLBACK_BODY_BYTES} bytes`);
    }
    const signature = await verifyOssCallback(request, { trustedKeys: config.trustedKeys });
    if (!signature.ok) throw new HttpError(403, signature.code, signature.message);

    const parsed = parseCallbackBody(request.body);
    if (!parsed.ok) throw new HttpError(400, parsed.code, parsed.message);
    const notice = parsed.notice;
    const log = context.log.child({ key: notice.key, etag: notice.etag, ossRequestId: notice.ossRequestId });

    if (notice.bucket !== config.bucket) {
      const refusal = {
        status: 403,
        code: 'BucketMismatch',
        message: `bucket ${notice.bucket} is not served here`,
      };
      return refuse(refusal, notice, null, null, remainingMs, log);
    }

    const verified = await verifyUploadTicket(notice.ticket, config.ticketKeyring, { now: deps.now() });
    // An authentic ticket (valid, or only expired) says whose prefix this is.
    const ticket = verified.ok ? verified.ticket : verified.ticket;
    const ownsKey = ticket !== undefined && notice.key.startsWith(ticket.keyPrefix);
    const ticketRefusal: Refusal | null = verified.ok
      ? checkClaimsAgainstTicket(notice, verified.ticket)
      : { status: 403, code: verified.code, message: verified.message };

    if (!ownsKey && !notice.key.startsWith(config.uploadsPrefix)) {
      // Not an upload area at all: nothing here to look at or mark.
      return refuse(ticketRefusal ?? keyOutside(notice, config), notice, null, null, remainingMs, log);
    }
    if (ticket && !ownsKey) {
      // An authentic ticket naming someone else's key: that object is not the sender's; never mark it.
      return refuse(ticketRefusal ?? keyOutside(notice, config), notice, null, null, remainingMs, log);
    }

    const store = deps.objectStore(context.credentials);
    let stored: Awaited<ReturnType<CallbackObjectStore['head']>>;
    try {
      stored = await within(store.head(notice.key, remainingMs()), remainingMs());
    } catch (error) {
      log.error({ err: error }, 'HeadObject failed');
      throw new HttpError(
        503,
        'OssUnavailable',
        'could not confirm the object with OSS in time; it stays stored',
      );
    }
    const objectRefusal = checkClaimsAgainstObject(notice, stored);
    // The object named exists as claimed (same etag): a refusal may mark it. Otherwise we cannot tell which version.
    const sameVersion = stored !== null && stored.etag === notice.etag;
    const refusal = ticketRefusal ?? objectRefusal;
    if (refusal || !ticket) {
      const tag = !sameVersion ? null : ownsKey ? 'rejected' : 'unverified';
      return refuse(refusal ?? keyOutside(notice, config), notice, tag, store, remainingMs, log);
    }

    const plan = planMediaJob(notice, config.plan);
    const answer = answerFor(notice, ticket, plan);
    if (config.uploadHook && deps.uploadHook) {
      const { object, userId, jobs } = answer;
      const verdict = await within(
        consultApplication({
          hook: config.uploadHook,
          deps: deps.uploadHook,
          message: uploadCompletedMessage({ object, userId, jobs }, stored?.lastModified ?? deps.now()),
          credentials: context.credentials,
          remainingMs,
          now: deps.now,
          log,
        }),
        remainingMs(),
      );
      // The checks above passed, so the object is provably the sender's own version: a veto marks it rejected.
      if (verdict.kind === 'refused')
        return refuse(verdict.refusal, notice, 'rejected', store, remainingMs, log);
      answer.app = verdict.kind === 'accepted' ? verdict.app : null;
      // Tell a media job the OSS trigger may already have queued that the application let this upload through, so
      // it need not wait out the whole callback window. Best effort: without the tag the job just waits longer.
      try {
        await within(
          store.tag(notice.key, { [UPLOAD_STATUS_TAG]: 'accepted' }, remainingMs()),
          remainingMs(),
        );
      } catch (error) {
        log.warn(
          { err: error },
          'could not tag the accepted upload; a trigger-path job waits out the window',
        );
      }
    }
    if (plan) {
      const job: MediaJob = {
        version: 1,
        kind: plan.kind,
        bucket: notice.bucket,
        key: notice.key,
        etag: notice.etag,
        size: notice.size,
        contentType: notice.contentType,
        source: 'callback',
        taskId: plan.taskId,
        requestedAt: deps.now(),
      };
      try {
        const outcome = await within(deps.dispatch(job, context.credentials, remainingMs()), remainingMs());
        log.info({ taskId: plan.taskId, outcome }, 'media job dispatched');
      } catch (error) {
        log.error({ err: error, taskId: plan.taskId }, 'media job dispatch failed');
        throw new HttpError(
          503,
          'DispatchUnavailable',
          'could not queue the media job in time; the object stays stored and the OSS trigger will process it',
        );
      }
    }
    log.info({ outcome: 'accepted', userId: ticket.userId, jobs: plan ? 1 : 0 }, 'upload accepted');
    return jsonResponse(200, answer, { 'cache-control': 'no-store' });
  }

  return async (request, context) => {
    try {
      return await handle(request, context);
    } catch (error) {
      if (error instanceof DeadlineExceeded) {
        throw new HttpError(
          503,
          'DeadlineExceeded',
          `no answer within ${config.deadlineMs} ms; the object stays stored`,
        );
      }
      throw error;
    }
  };
}

function keyOutside(notice: UploadNotice, config: CallbackConfig): Refusal {
  return {
    status: 403,
    code: 'KeyOutsidePrefix',
    message: `object ${JSON.stringify(notice.key)} is not under ${config.uploadsPrefix}`,
  };
}
