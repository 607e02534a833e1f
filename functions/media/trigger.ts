/**
 * The OSS trigger path: the safety net for uploads whose callback failed or never came (OSS sends a callback once —
 * and an uploader holding raw credentials may send none). For each ObjectCreated event it confirms the version with
 * HeadObject (the event has no content type), reaches the object's verdict exactly as the callback does
 * (shared/upload-verdict.ts: the ticket stored with the object, its size and type) and records a refusal as the
 * callback would (`upcall-status=rejected` + reason, nothing processed); an accepted version gets the job the
 * callback would plan, skipped when its manifest exists, and otherwise dispatched through FC's async invoke to the
 * function the callback picks for it (its kind's: the stored content type, which both paths read from HeadObject)
 * under the same task id the callback uses — FC refuses a task id it has seen (409), so whichever path comes
 * second is a no-op, and the job's lease covers what the task id cannot (e.g. async task mode off).
 * Dispatching instead of processing inline keeps one code path for the job (retries, failure destination, timeouts).
 *
 * Event shape: FC's "OSS trigger" event format (a Buffer of `{"events":[…]}`), as documented for FC 3.0.
 */
import { type Static, Type } from '@sinclair/typebox';
import { rejectedTags } from '../../shared/callback-contract.js';
import { normalizeEtag } from '../../shared/etag.js';
import type { DispatchOutcome } from '../../shared/fc-async-invoke.js';
import type { Logger } from '../../shared/log.js';
import { type MediaJob, mediaJobFor, planMediaJob } from '../../shared/media-job.js';
import { compileSchema } from '../../shared/schema.js';
import { checkStoredTicket, judgeUpload } from '../../shared/upload-verdict.js';
import type { TriggerConfig } from './config.js';
import type { MediaStore } from './store.js';

const OssEventRecordSchema = Type.Object({
  eventName: Type.String(),
  eventSource: Type.Optional(Type.String()),
  eventTime: Type.Optional(Type.String()),
  eventVersion: Type.Optional(Type.String()),
  oss: Type.Object({
    bucket: Type.Object({
      name: Type.String({ minLength: 1 }),
      arn: Type.Optional(Type.String()),
      ownerIdentity: Type.Optional(Type.String()),
    }),
    object: Type.Object({
      key: Type.String({ minLength: 1 }),
      eTag: Type.String({ minLength: 1 }),
      size: Type.Integer({ minimum: 0 }),
      deltaSize: Type.Optional(Type.Integer()),
    }),
    ossSchemaVersion: Type.Optional(Type.String()),
    ruleId: Type.Optional(Type.String()),
  }),
  region: Type.Optional(Type.String()),
  requestParameters: Type.Optional(Type.Object({ sourceIPAddress: Type.Optional(Type.String()) })),
  responseElements: Type.Optional(Type.Object({ requestId: Type.Optional(Type.String()) })),
  userIdentity: Type.Optional(Type.Object({ principalId: Type.Optional(Type.String()) })),
});
export type OssEventRecord = Static<typeof OssEventRecordSchema>;

/** FC's OSS trigger event. Only the fields upcall reads are required; the rest are as documented, optional. */
export const OssTriggerEventSchema = Type.Object({
  events: Type.Array(OssEventRecordSchema, { minItems: 1 }),
});
export type OssTriggerEvent = Static<typeof OssTriggerEventSchema>;
export const ossTriggerEventValidator = compileSchema(OssTriggerEventSchema);

/**
 * The events the trigger is configured with (s.yaml's `triggerConfig.events`, with OSS's `oss:` prefix; a test keeps
 * the two in step). `ObjectCreated:*` would also fire for multipart steps and copies, so anything else is ignored even
 * if the trigger is widened by mistake.
 */
export const UPLOAD_EVENT_NAMES = [
  'ObjectCreated:PutObject',
  'ObjectCreated:PostObject',
  'ObjectCreated:CompleteMultipartUpload',
] as const;
export const TRIGGER_EVENTS = UPLOAD_EVENT_NAMES.map((name) => `oss:${name}`);
const UPLOAD_EVENTS: ReadonlySet<string> = new Set(UPLOAD_EVENT_NAMES);

export interface TriggerDeps {
  store: MediaStore;
  dispatch: (job: MediaJob) => Promise<DispatchOutcome>;
  now: () => number;
  log: Logger;
}

export type TriggerOutcome =
  | { key: string; outcome: DispatchOutcome; taskId: string }
  | { key: string; outcome: 'already-done'; taskId: string }
  /** The object's verdict refused it: tagged `rejected`, never processed. */
  | { key: string; outcome: 'refused'; code: string }
  | { key: string; outcome: 'ignored'; reason: string };

async function handleRecord(
  record: OssEventRecord,
  config: TriggerConfig,
  deps: TriggerDeps,
): Promise<TriggerOutcome> {
  const { key } = record.oss.object;
  const etag = normalizeEtag(record.oss.object.eTag);
  const ignore = (reason: string): TriggerOutcome => {
    deps.log.info({ key, etag, eventName: record.eventName, reason }, 'event ignored');
    return { key, outcome: 'ignored', reason };
  };
  if (!UPLOAD_EVENTS.has(record.eventName)) return ignore(`event ${record.eventName} is not an upload`);
  if (record.oss.bucket.name !== config.bucket)
    return ignore(`bucket ${record.oss.bucket.name} is not served`);
  // Outputs live under the derived prefix, which never overlaps uploads: a misconfigured trigger cannot loop.
  if (!key.startsWith(config.uploadsPrefix) || key.startsWith(config.plan.derivedPrefix)) {
    return ignore('key is outside the uploads prefix');
  }
  const stored = await deps.store.head(key);
  if (!stored) return ignore('the object no longer exists');
  // A newer upload to the same key has an event of its own; this version can no longer be read.
  if (stored.etag !== etag) return ignore(`superseded by etag ${stored.etag}`);

  const ticketCheck = await checkStoredTicket(stored, config.ticketKeyring, deps.now());
  const verdict = judgeUpload(key, ticketCheck, stored, {
    ...config,
    derivedPrefix: config.plan.derivedPrefix,
  });
  if (!verdict.accepted) {
    const { code, message } = verdict.refusal;
    if (verdict.tag) await deps.store.tag(key, rejectedTags(code));
    deps.log.warn({ key, etag, outcome: 'refused', code, tagged: verdict.tag }, message);
    return { key, outcome: 'refused', code };
  }

  const uploaded = { bucket: config.bucket, key, etag, size: stored.size, contentType: stored.contentType };
  const plan = planMediaJob(uploaded, config.plan);
  if (!plan) return ignore(`content type ${JSON.stringify(stored.contentType)} gets no media job`);
  // Cheaper than a dispatch, and the only guard once FC has forgotten the task id (7 days).
  if (await deps.store.head(plan.manifestKey)) {
    deps.log.info({ key, taskId: plan.taskId }, 'already processed');
    return { key, outcome: 'already-done', taskId: plan.taskId };
  }
  let job: MediaJob;
  try {
    job = mediaJobFor(plan, uploaded, 'trigger', deps.now());
  } catch (error) {
    return ignore((error as Error).message);
  }
  const outcome = await deps.dispatch(job);
  deps.log.info({ key, taskId: plan.taskId, outcome }, 'media job dispatched');
  return { key, outcome, taskId: plan.taskId };
}

/**
 * Handle one trigger event. Throws on transient trouble (OSS or FC unreachable) so FC retries the whole event —
 * every step is idempotent, so records handled before the error are harmless to repeat.
 */
export async function handleObjectCreated(
  event: OssTriggerEvent,
  config: TriggerConfig,
  deps: TriggerDeps,
): Promise<TriggerOutcome[]> {
  const outcomes: TriggerOutcome[] = [];
  for (const record of event.events) outcomes.push(await handleRecord(record, config, deps));
  return outcomes;
}
