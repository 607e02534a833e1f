/** The callback function assembled from the environment: config, OSS and FC clients, and the core handler. */
import { type EdgeHandler, HttpError, type RoleCredentials } from '../../shared/http/edge.js';
import { dispatchMediaJob } from '../../shared/media-dispatch.js';
import { roleCredentials } from '../../shared/role-credentials.js';
import { type CallbackConfig, loadCallbackConfig } from './config.js';
import { type CallbackDeps, createCallbackHandler } from './handler.js';
import { type CallbackObjectStore, createOssObjectStore } from './object-store.js';

/** Real dependencies: OSS and FC with the function role's credentials (FC's context, else the environment). */
export function createCallbackDeps(config: CallbackConfig, env: NodeJS.ProcessEnv): CallbackDeps {
  const credentialsFor = (fromContext: RoleCredentials | undefined): RoleCredentials => {
    try {
      return roleCredentials(fromContext, env);
    } catch (error) {
      throw new HttpError(500, 'NoCredentials', (error as Error).message);
    }
  };
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
        functionName: config.mediaFunctionName,
        job,
      });
    },
    now: Date.now,
  };
}

/** Throws ConfigError naming the bad setting. */
export function createCallbackApp(env: NodeJS.ProcessEnv): EdgeHandler {
  const config = loadCallbackConfig(env);
  return createCallbackHandler(config, createCallbackDeps(config, env));
}
