/**
 * FC entry of the media worker (invoked asynchronously). Two kinds of events arrive as a Buffer of JSON: a media job
 * (`MediaJob`, from the callback function or from this function's own trigger path) and an OSS trigger event
 * (`{"events":[…]}`). This file only adapts: it decodes the event, builds the dependencies from the environment and
 * FC's context (role credentials, request id), and calls the core. Returning means done (FC does not retry);
 * throwing means "transient, retry me".
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { createLogger } from '../../shared/log.js';
import { type DispatchOutcome, dispatchMediaJob } from '../../shared/media-dispatch.js';
import { type MediaJob, mediaJobValidator } from '../../shared/media-job.js';
import { createOssClient } from '../../shared/oss-client.js';
import { roleCredentials } from '../../shared/role-credentials.js';
import { formatIssues } from '../../shared/schema.js';
import { loadMediaConfig, type MediaConfig } from './config.js';
import { locateMediaTools, type MediaTools } from './ffmpeg.js';
import { type JobResult, runMediaJob } from './job.js';
import { createOssMediaStore, type OssMediaStoreOptions } from './store.js';
import { handleObjectCreated, ossTriggerEventValidator, type TriggerOutcome } from './trigger.js';

export interface FcEventContext {
  requestId?: string;
  credentials?: RoleCredentials;
}

export type MediaHandlerResult =
  | JobResult
  | { outcome: 'trigger'; events: TriggerOutcome[] }
  | { outcome: 'rejected'; code: 'BadEvent'; message: string };

export interface MediaHandlerOptions {
  /** Replaces FC async invoke on the trigger path (the local cloud without an FC stand-in). */
  dispatch?: (job: MediaJob, credentials: RoleCredentials) => Promise<DispatchOutcome>;
  storeOptions?: OssMediaStoreOptions;
  scratchDir?: string;
}

function decode(event: unknown): unknown {
  const text = Buffer.isBuffer(event)
    ? event.toString('utf8')
    : typeof event === 'string'
      ? event
      : undefined;
  if (text === undefined) return event;
  return JSON.parse(text);
}

/** Build FC's `handler(event, context)` for an environment. Configuration is validated once, at start-up. */
export function createMediaHandler(env: NodeJS.ProcessEnv, options: MediaHandlerOptions = {}) {
  const log = createLogger('media');
  let config: MediaConfig | undefined;
  let configError: Error | undefined;
  try {
    config = loadMediaConfig(env);
  } catch (error) {
    configError = error as Error;
    log.fatal({ err: configError }, 'start-up failed');
  }
  let tools: Promise<MediaTools> | undefined;
  const locateTools = (settings: MediaConfig) => {
    // A failed lookup is retried on the next job rather than cached forever.
    tools ??= locateMediaTools(settings.toolPaths, env).catch((error: unknown) => {
      tools = undefined;
      throw error;
    });
    return tools;
  };

  return async (event: unknown, context: FcEventContext = {}): Promise<MediaHandlerResult> => {
    const requestId = context.requestId ?? randomUUID();
    const requestLog = log.child({ requestId });
    if (!config) throw configError ?? new Error('not initialised');
    const settings = config;
    let payload: unknown;
    try {
      payload = decode(event);
    } catch {
      requestLog.error('the event is not JSON');
      return { outcome: 'rejected', code: 'BadEvent', message: 'the event is not JSON' };
    }
    const credentials = roleCredentials(context.credentials, env);
    const store = createOssMediaStore(
      createOssClient({
        endpoint: settings.ossEndpoint,
        region: settings.region,
        bucket: settings.bucket,
        credentials,
      }),
      options.storeOptions,
    );

    if (payload !== null && typeof payload === 'object' && 'events' in payload) {
      const checked = ossTriggerEventValidator.validate(payload);
      if (!checked.ok) {
        const message = `not an OSS trigger event: ${formatIssues(checked.issues)}`;
        requestLog.error(message);
        return { outcome: 'rejected', code: 'BadEvent', message };
      }
      const dispatch =
        options.dispatch ??
        ((job: MediaJob, roleCredentials: RoleCredentials) =>
          dispatchMediaJob({
            fc: { endpoint: settings.fcEndpoint, credentials: roleCredentials },
            functionName: settings.mediaFunctionName,
            job,
          }));
      const events = await handleObjectCreated(checked.value, settings, {
        store,
        dispatch: (job) => dispatch(job, credentials),
        now: Date.now,
        log: requestLog,
      });
      return { outcome: 'trigger', events };
    }

    const checked = mediaJobValidator.validate(payload);
    if (!checked.ok) {
      const message = `not a media job: ${formatIssues(checked.issues)}`;
      requestLog.error(message);
      return { outcome: 'rejected', code: 'BadEvent', message };
    }
    return runMediaJob(checked.value, { requestId }, settings, {
      store,
      tools: () => locateTools(settings),
      now: Date.now,
      log: requestLog,
      scratchDir: options.scratchDir ?? tmpdir(),
    });
  };
}

export const handler = createMediaHandler(process.env);
