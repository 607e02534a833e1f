/**
 * The media worker assembled from the environment (FC's entry is index.ts). This file only adapts: it decodes the
 * event (events.ts), builds the dependencies from the environment and FC's context (role credentials, request id),
 * and calls the core for the event's kind. Returning means done (FC does not retry); throwing means "transient,
 * retry me".
 */
import { tmpdir } from 'node:os';
import { plannedJobs } from '../../shared/callback-contract.js';
import { type DispatchOutcome, dispatchMediaJob, invokeAsync } from '../../shared/fc-async-invoke.js';
import { type FcContext, fcEventJson, invocation, startFunction } from '../../shared/fc-function.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import type { Logger } from '../../shared/log.js';
import { type MediaJob, planMediaJob } from '../../shared/media-job.js';
import { createOssClient } from '../../shared/oss-client.js';
import { roleCredentials } from '../../shared/role-credentials.js';
import { checkStoredTicket } from '../../shared/upload-verdict.js';
import { deliveryTaskId, mediaResultMessage, uploadCompletedMessage } from '../../shared/webhook-events.js';
import { sendWebhook } from '../../shared/webhook-send.js';
import { loadManifestLocation, loadMediaConfig, MEDIA_SETTINGS, type MediaConfig } from './config.js';
import { decodeMediaEvent, type MediaEvent } from './events.js';
import { WorkerMisconfigured } from './failure.js';
import { type JobResult, type MediaWorkerDeps, runMediaJob } from './job.js';
import { createOutbox, type DeliveryResult, type Outbox } from './outbox.js';
import { failMisconfigured, instanceChecks } from './preflight.js';
import { createOssMediaStore, type MediaStore, type OssMediaStoreOptions } from './store.js';
import { handleObjectCreated, type TriggerOutcome } from './trigger.js';
import type { VetoDeps } from './verdict.js';

export type MediaHandlerResult =
  | JobResult
  | { outcome: 'trigger'; events: TriggerOutcome[] }
  | { outcome: 'deliver'; delivery: DeliveryResult }
  | { outcome: 'rejected'; code: 'BadEvent'; message: string };

export interface MediaHandlerOptions {
  /** Replaces FC async invoke on the trigger path (the local cloud without an FC stand-in). */
  dispatch?: (job: MediaJob, credentials: RoleCredentials) => Promise<DispatchOutcome>;
  storeOptions?: OssMediaStoreOptions;
  scratchDir?: string;
}

/**
 * What a job tells the application: `media.ready` / `media.failed` when the media hook is on; and with the upload hook
 * on, the `upload.completed` question a trigger-path job asks when no callback settled the upload.
 */
function jobWebhooks(
  settings: MediaConfig,
  outbox: Outbox | undefined,
  store: MediaStore,
  queueLater: QueueLater,
): Pick<MediaWorkerDeps, 'announce' | 'verdict'> {
  if (!settings.webhooks || !outbox) return {};
  const { webhooks } = settings;
  const mediaHookOn = webhooks.urls.media !== null;
  const uploadHook = webhooks.urls.upload;
  const ask =
    (url: string): VetoDeps['askApplication'] =>
    async (job) => {
      const stored = await store.head(job.key);
      if (!stored || stored.etag !== job.etag) return { kind: 'refused', reason: 'the upload was replaced' };
      // The trigger path judged this version by its ticket already; the ticket names whose upload it is.
      const { ticket } = await checkStoredTicket(stored, settings.ticketKeyring, Date.now());
      const { bucket, key, etag, size, contentType } = job;
      const message = uploadCompletedMessage(
        {
          object: { bucket, key, etag, size, contentType, claimedImage: null },
          userId: ticket?.userId ?? '',
          jobs: plannedJobs(planMediaJob(job, settings.plan)),
        },
        stored.lastModified ?? Date.now(),
      );
      const outcome = await sendWebhook({ url, secret: webhooks.secret }, message, {
        timeoutMs: webhooks.timeoutMs,
      });
      if (outcome.kind === 'accepted') return { kind: 'accepted' };
      if (outcome.kind === 'refused')
        return { kind: 'refused', reason: outcome.message ?? `HTTP ${outcome.status}` };
      return { kind: 'unreachable' };
    };
  return {
    async announce(manifest) {
      // A refused upload was never announced to the application (no upload.completed): nothing to follow up.
      if (!mediaHookOn || manifest.error?.code === 'UploadRejected') return;
      await outbox.publish(mediaResultMessage(manifest));
    },
    ...(uploadHook !== null
      ? {
          verdict: {
            // The job's own function again: the one its kind is routed to, which is running it now.
            recheck: (job, taskId, delaySeconds) =>
              queueLater(settings.mediaFunctions[job.kind], job, taskId, delaySeconds),
            askApplication: ask(uploadHook),
          },
        }
      : {}),
  };
}

/** Queue an event for a media function, later: FC's delayed async invoke under a task id of its own. */
type QueueLater = (
  functionName: string,
  event: unknown,
  taskId: string,
  delaySeconds: number,
) => Promise<DispatchOutcome>;

type StoreLocation = Pick<MediaConfig, 'ossEndpoint' | 'region' | 'bucket'>;

/** Build FC's `handler(event, context)` for an environment. Configuration is validated once, at start-up. */
export function createMediaHandler(env: NodeJS.ProcessEnv, options: MediaHandlerOptions = {}) {
  const started = startFunction('media', env, (_log, resolved) => loadMediaConfig(resolved), MEDIA_SETTINGS);
  // Made with the settings, once they are valid (they do not change afterwards).
  let checks: ReturnType<typeof instanceChecks> | undefined;
  const checksOf = (settings: MediaConfig) => {
    checks ??= instanceChecks(settings.toolPaths, env);
    return checks;
  };
  const storeAt = (location: StoreLocation, credentials: RoleCredentials) =>
    createOssMediaStore(
      createOssClient({ ...location, endpoint: location.ossEndpoint, credentials }),
      options.storeOptions,
    );

  /**
   * The settings are broken: a job still ends in a `failed` manifest when the few settings that place it are valid.
   * Other events are thrown back, so FC's failure destination keeps them for a replay once the settings are fixed.
   */
  async function whileMisconfigured(
    decoded: Exclude<MediaEvent, { kind: 'invalid' }>,
    failure: Error,
    credentials: RoleCredentials,
    log: Logger,
  ): Promise<MediaHandlerResult> {
    if (decoded.kind !== 'job') throw failure;
    let location: ReturnType<typeof loadManifestLocation>;
    try {
      location = loadManifestLocation(env);
    } catch {
      log.error({ err: failure }, 'media worker misconfigured; not even the manifest can be written');
      throw failure;
    }
    const store = storeAt({ ...location, bucket: decoded.job.bucket }, credentials);
    return failMisconfigured(decoded.job, failure, { store, plan: location.plan, now: Date.now, log });
  }

  return async (event: unknown, context: FcContext = {}): Promise<MediaHandlerResult> => {
    const { requestId, log: requestLog } = invocation(started.log, context);
    const json = fcEventJson(event);
    const decoded: MediaEvent = json.ok
      ? decodeMediaEvent(json.value)
      : { kind: 'invalid', message: json.message };
    if (decoded.kind === 'invalid') {
      requestLog.error(decoded.message);
      return { outcome: 'rejected', code: 'BadEvent', message: decoded.message };
    }
    const credentials = roleCredentials(context.credentials, env);
    const ready = await started.ready(context);
    if (!ready.ok) {
      // KMS out of reach for now: FC's retry may find it back.
      if (ready.transient) throw ready.failure;
      return whileMisconfigured(decoded, ready.failure, credentials, requestLog);
    }
    const settings = ready.app;
    const store = storeAt(settings, credentials);
    const queueLater: QueueLater = (functionName, event, taskId, delaySeconds) =>
      invokeAsync({
        fc: { endpoint: settings.fcEndpoint, credentials },
        functionName,
        taskId,
        event,
        delaySeconds,
      });
    const outbox = settings.webhooks
      ? createOutbox(
          { derivedPrefix: settings.plan.derivedPrefix, webhooks: settings.webhooks },
          {
            store,
            send: (target, message, timeoutMs) => sendWebhook(target, message, { timeoutMs }),
            // A retry runs on the image function (an HTTP request needs no video-sized instance), later, under
            // the attempt's own task id.
            schedule: (delivery, delaySeconds) =>
              queueLater(
                settings.mediaFunctions.image,
                delivery,
                deliveryTaskId(delivery.deliver.webhookId, delivery.deliver.attempt),
                delaySeconds,
              ),
            now: Date.now,
            log: requestLog,
          },
        )
      : undefined;

    switch (decoded.kind) {
      case 'deliver': {
        if (!outbox) {
          const message =
            'a webhook delivery, but no hook URL is configured (the outbox record stays pending)';
          requestLog.error(message);
          return { outcome: 'rejected', code: 'BadEvent', message };
        }
        return { outcome: 'deliver', delivery: await outbox.deliver(decoded.delivery) };
      }
      case 'trigger': {
        const dispatch =
          options.dispatch ??
          ((job: MediaJob, roleCredentials: RoleCredentials) =>
            dispatchMediaJob({
              fc: { endpoint: settings.fcEndpoint, credentials: roleCredentials },
              functionName: settings.mediaFunctions[job.kind],
              job,
            }));
        const events = await handleObjectCreated(decoded.event, settings, {
          store,
          dispatch: (job) => dispatch(job, credentials),
          now: Date.now,
          log: requestLog,
        });
        return { outcome: 'trigger', events };
      }
      case 'job': {
        const webhooks = jobWebhooks(settings, outbox, store, queueLater);
        const { ready, tools } = checksOf(settings);
        const broken = await ready(decoded.job.kind).then(
          () => undefined,
          (error: Error) => error,
        );
        const misconfigured = (problem: Error) =>
          failMisconfigured(decoded.job, problem, {
            store,
            plan: settings.plan,
            now: Date.now,
            log: requestLog,
            ...(webhooks.announce ? { announce: webhooks.announce } : {}),
          });
        // A renderer that could not start is the instance's trouble: thrown, so FC retries.
        if (broken instanceof WorkerMisconfigured) return misconfigured(broken);
        if (broken) throw broken;
        return runMediaJob(decoded.job, { requestId }, settings, {
          store,
          tools,
          now: Date.now,
          log: requestLog,
          scratchDir: options.scratchDir ?? tmpdir(),
          ...webhooks,
        }).catch((error: unknown) => {
          // sharp does not load (isolated.ts): a retry would meet the same package, so the job ends here.
          if (error instanceof WorkerMisconfigured) return misconfigured(error);
          throw error;
        });
      }
    }
  };
}
