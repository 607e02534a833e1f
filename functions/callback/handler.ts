/**
 * The callback function's core: OSS's upload callback in, a JSON answer out, within a hard deadline — the I/O
 * sequence around decide.ts. Signature and body are checked without touching the network; only then is OSS asked
 * about the object (HeadObject: its etag, size, type and the ticket stored with it), then the decision is made, then
 * the application is asked (when an upload hook is configured: it may still refuse the upload), and only then is the
 * media job dispatched — so a veto never leaves a job behind. Every answer is derived from the request, the object
 * and the application's answer for the event's stable id, so a replayed callback gets the same answer, and the job's
 * deterministic task id means it starts nothing new.
 */
import {
  type CallbackAnswer,
  parseCallbackBody,
  plannedJobs,
  rejectedTags,
  UPLOAD_STATUS_TAG,
  type UploadNotice,
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
import {
  type MediaJob,
  type MediaPlan,
  mediaJobFor,
  planMediaJob,
  type UploadedVersion,
} from '../../shared/media-job.js';
import { type UploadTicket, verifyUploadTicket } from '../../shared/upload-ticket.js';
import { checkStoredTicket, type Refusal, type StoredObject } from '../../shared/upload-verdict.js';
import { uploadCompletedMessage } from '../../shared/webhook-events.js';
import type { CallbackConfig } from './config.js';
import { type CallbackScope, decideCallback, type ObjectLookup, refuseBeforeLookup } from './decide.js';
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

function answerFor(
  uploaded: UploadedVersion,
  notice: UploadNotice,
  ticket: UploadTicket,
  plan: MediaPlan | null,
): CallbackAnswer {
  return {
    status: 'accepted',
    // Spelled out, not `{ ...uploaded, claimedImage }`: V8 defines each property added after a spread with a runtime
    // call (~0.45 µs apiece, on every callback), and the object it makes is slower to serialise.
    object: {
      bucket: uploaded.bucket,
      key: uploaded.key,
      etag: uploaded.etag,
      size: uploaded.size,
      contentType: uploaded.contentType,
      claimedImage: notice.image,
    },
    userId: ticket.userId,
    jobs: plannedJobs(plan),
  };
}

/**
 * The request's logger with the notice's fields, made on first use: an accepted upload logs one line, which carries
 * the fields itself, and a child logger costs more than that line. (Closures of the per-request path are returned
 * from helpers like this one rather than assigned to a local: the bundle's keepNames names each local one again at
 * every request.)
 */
function lazyChild(context: EdgeContext, fields: Record<string, unknown>): () => Logger {
  let child: Logger | undefined;
  return () => {
    child ??= context.log.child(fields);
    return child;
  };
}

/** Milliseconds left until `deadline` (at least 1, a socket timeout's minimum). */
function remainingUntil(deadline: number, now: () => number): () => number {
  return () => Math.max(1, deadline - now());
}

export function createCallbackHandler(config: CallbackConfig, deps: CallbackDeps): EdgeHandler {
  if (config.uploadHook && !deps.uploadHook)
    throw new Error('an upload hook is configured without its client');
  const scope: CallbackScope = {
    bucket: config.bucket,
    uploadsPrefix: config.uploadsPrefix,
    derivedPrefix: config.plan.derivedPrefix,
  };

  /** Answer a refusal; mark the object `rejected` first when the decision says the verdict is the object's own. */
  async function refuse(
    refusal: Refusal,
    tagObject: { key: string; store: CallbackObjectStore; remainingMs: () => number } | null,
    log: () => Logger,
  ): Promise<never> {
    if (tagObject) {
      const tags = rejectedTags(refusal.code);
      try {
        await tagObject.store.tag(tagObject.key, tags, tagObject.remainingMs());
      } catch (error) {
        // The refusal stands; the object stays stored, the trigger path reaches (and records) the same verdict.
        log().error({ err: error }, 'could not tag a refused upload');
      }
    }
    log().warn({ outcome: 'refused', code: refusal.code, tagged: tagObject !== null }, refusal.message);
    throw new HttpError(refusal.status, refusal.code, refusal.message);
  }

  async function lookUp(
    notice: UploadNotice,
    store: CallbackObjectStore,
    remainingMs: () => number,
    log: () => Logger,
  ): Promise<ObjectLookup | null> {
    let stored: StoredObject | null;
    try {
      stored = await store.head(notice.key, remainingMs());
    } catch (error) {
      log().error({ err: error }, 'HeadObject failed');
      throw new HttpError(
        503,
        'OssUnavailable',
        'could not confirm the object with OSS in time; it stays stored',
      );
    }
    if (!stored) return null;
    const now = deps.now();
    return {
      stored,
      ticketCheck: checkStoredTicket(stored, config.ticketKeyring, now),
      callbackTicketCheck:
        notice.ticket === stored.ticket
          ? null
          : verifyUploadTicket(notice.ticket, config.ticketKeyring, { now }),
    };
  }

  async function handle(
    request: EdgeRequest,
    context: EdgeContext,
    remainingMs: () => number,
  ): Promise<ReturnType<typeof jsonResponse>> {
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
    const noticeFields = { key: notice.key, etag: notice.etag, ossRequestId: notice.ossRequestId };
    const log = lazyChild(context, noticeFields);

    const early = refuseBeforeLookup(notice, scope);
    if (early) return refuse(early, null, log);

    const store = deps.objectStore(context.credentials);
    const decision = decideCallback(notice, await lookUp(notice, store, remainingMs, log), scope);
    if (decision.kind === 'refuse') {
      return refuse(decision.refusal, decision.tag ? { key: notice.key, store, remainingMs } : null, log);
    }
    const { ticket, object } = decision;
    // The version as OSS stored it (the notice agreed with it, or the decision would have refused).
    const uploaded: UploadedVersion = {
      bucket: notice.bucket,
      key: notice.key,
      etag: object.etag,
      size: object.size,
      contentType: object.contentType,
    };
    const plan = planMediaJob(uploaded, config.plan);
    const answer = answerFor(uploaded, notice, ticket, plan);
    if (config.uploadHook && deps.uploadHook) {
      const { object: uploaded, userId, jobs } = answer;
      const verdict = await consultApplication({
        hook: config.uploadHook,
        deps: deps.uploadHook,
        message: uploadCompletedMessage(
          { object: uploaded, userId, jobs },
          object.lastModified ?? deps.now(),
        ),
        credentials: context.credentials,
        remainingMs,
        now: deps.now,
        log: log(),
      });
      // The object passed its verdict, so it is provably the sender's own version: a veto marks it rejected.
      if (verdict.kind === 'refused')
        return refuse(verdict.refusal, { key: notice.key, store, remainingMs }, log);
      answer.app = verdict.kind === 'accepted' ? verdict.app : null;
      // Tell a media job the OSS trigger may already have queued that the application let this upload through, so
      // it need not wait out the whole callback window. Best effort: without the tag the job just waits longer.
      try {
        await store.tag(notice.key, { [UPLOAD_STATUS_TAG]: 'accepted' }, remainingMs());
      } catch (error) {
        log().warn(
          { err: error },
          'could not tag the accepted upload; a trigger-path job waits out the window',
        );
      }
    }
    let dispatched: DispatchOutcome | undefined;
    if (plan) {
      const job = mediaJobFor(plan, uploaded, 'callback', deps.now());
      try {
        dispatched = await deps.dispatch(job, context.credentials, remainingMs());
      } catch (error) {
        log().error({ err: error, taskId: plan.taskId }, 'media job dispatch failed');
        throw new HttpError(
          503,
          'DispatchUnavailable',
          'could not queue the media job in time; the object stays stored and the OSS trigger will process it',
        );
      }
    }
    // One line per accepted upload, the job's dispatch included: log lines are a measurable share of a callback's CPU.
    // Its fields are spelled out rather than spread from `noticeFields`, for the reason `answerFor` gives.
    context.log.info(
      {
        key: notice.key,
        etag: notice.etag,
        ossRequestId: notice.ossRequestId,
        outcome: 'accepted',
        userId: ticket.userId,
        taskId: plan?.taskId,
        dispatched,
      },
      'upload accepted',
    );
    return jsonResponse(200, answer, { 'cache-control': 'no-store' });
  }

  /**
   * One deadline for the whole sequence; each call below gets what is left of it for its own socket. Written without
   * Promise.race and per-request closures: this wrapper runs once per callback, on the measured hot path.
   */
  return (request, context) => {
    const deadline = deps.now() + config.deadlineMs - ANSWER_MARGIN_MS;
    const remainingMs = remainingUntil(deadline, deps.now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new HttpError(
            503,
            'DeadlineExceeded',
            `no answer within ${config.deadlineMs} ms; the object stays stored`,
          ),
        );
      }, deadline - deps.now());
      handle(request, context, remainingMs).then(
        (response) => {
          clearTimeout(timer);
          resolve(response);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  };
}
