/** The callback function assembled from the environment: config, OSS and FC clients, and the core handler. */

import { dispatchMediaJob, invokeAsync } from '../../shared/fc-async-invoke.js';
import type { EdgeApp, RoleCredentials } from '../../shared/http/edge.js';
import { edgeCredentials } from '../../shared/role-credentials.js';
import { deliveryTaskId } from '../../shared/webhook-events.js';
import { sendWebhook } from '../../shared/webhook-send.js';
import { type CallbackConfig, loadCallbackConfig } from './config.js';
import { type CallbackDeps, createCallbackHandler } from './handler.js';
import { type CallbackObjectStore, createOssObjectStore } from './object-store.js';
import type { UploadHookDeps } from './upload-hook.js';

/** Real dependencies: OSS and FC with the function role's credentials (FC's context, else the environment). */
export function createCallbackDeps(config: CallbackConfig, env: NodeJS.ProcessEnv): CallbackDeps {
  const credentialsFor = (fromContext: RoleCredentials | undefined): RoleCredentials =>
    edgeCredentials(fromContext, env);
  // One client per credential set: FC rotates role credentials, so a changed key id gets a new client.
  let cached: { accessKeyId: string; store: CallbackObjectStore } | undefined;
  return {
    objectStore(fromContext) {
      const credentials = credentialsFor(fromContext);
      if (cached?.accessKeyId !== credentials.accessKeyId) {
        const store = createOssObjectStore({
          endpoint: config.ossEndpoint,
          region: config.region,
          bucket: config.bucket,
          credentials,
        });
        cached = { accessKeyId: credentials.accessKeyId, store };
      }
      return cached.store;
    },
    dispatch(job, fromContext, timeoutMs) {
      return dispatchMediaJob({
        fc: { endpoint: config.fcEndpoint, credentials: credentialsFor(fromContext), timeoutMs },
        functionName: config.mediaFunctions[job.kind],
        job,
      });
    },
    now: Date.now,
    ...uploadHookDeps(config, credentialsFor),
  };
}

/** The upload hook's client: signed POSTs to the application, and deferred deliveries queued for the media function. */
function uploadHookDeps(
  config: CallbackConfig,
  credentialsFor: (fromContext: RoleCredentials | undefined) => RoleCredentials,
): { uploadHook?: UploadHookDeps } {
  const hook = config.uploadHook;
  if (!hook) return {};
  return {
    uploadHook: {
      send: (message, timeoutMs) => sendWebhook(hook, message, { timeoutMs }),
      // Deferred deliveries are the media functions' work (they own the outbox and the retries): the image one's.
      enqueue: (delivery, fromContext, timeoutMs) =>
        invokeAsync({
          fc: { endpoint: config.fcEndpoint, credentials: credentialsFor(fromContext), timeoutMs },
          functionName: config.mediaFunctions.image,
          taskId: deliveryTaskId(delivery.deliver.webhookId, delivery.deliver.attempt),
          event: delivery,
        }),
    },
  };
}

/** Throws ConfigError naming the bad setting. */
export function createCallbackApp(env: NodeJS.ProcessEnv): EdgeApp {
  const config = loadCallbackConfig(env);
  return { handle: createCallbackHandler(config, createCallbackDeps(config, env)) };
}
