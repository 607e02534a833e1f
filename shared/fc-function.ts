/**
 * The one start-up path of every function, HTTP (shared/http/fc.ts) or event (the media function): the logger, then
 * the function's app built from the environment. A failure is logged whole (the settings it names, and their values
 * unless secret) and kept: each invocation answers with it, and the caller learns no more than that the function is
 * misconfigured.
 *
 * Secrets a deployment keeps in KMS (shared/kms-secrets.ts) need the role credentials FC passes with an invocation,
 * so a function that names any builds its app on its first invocation, from the environment plus the secrets' values,
 * and again whenever a periodic re-read finds them rotated. Without KMS secrets the app is built at once.
 */
import { randomUUID } from 'node:crypto';
import type { SettingName } from './config.js';
import type { RoleCredentials } from './http/edge.js';
import { createSecretReader, SecretUnavailable, secretPlan } from './kms-secrets.js';
import { createLogger, type Logger, logLevel } from './log.js';
import { roleCredentials } from './role-credentials.js';

/** What FC passes every invocation besides the event. */
export interface FcContext {
  requestId?: string;
  /** The function role's temporary credentials. */
  credentials?: RoleCredentials;
}

/** An invocation's app, or why there is none: `transient` when another try may succeed (KMS unreachable). */
export type Ready<App> = { ok: true; app: App } | { ok: false; failure: Error; transient: boolean };

export interface FunctionInstance<App> {
  log: Logger;
  ready(context: FcContext): Promise<Ready<App>>;
}

/**
 * Start a function: `init` builds its app from an environment (throwing `ConfigError` naming bad settings);
 * `functionSettings` are the settings it reads, which say which secrets it may take from KMS.
 */
export function startFunction<App>(
  service: string,
  env: NodeJS.ProcessEnv,
  init: (log: Logger, env: NodeJS.ProcessEnv) => App,
  functionSettings: readonly SettingName[] = [],
): FunctionInstance<App> {
  let log: Logger;
  try {
    // A function built from a partial environment (tests, the dev stack) logs at the process's level.
    log = createLogger(service, logLevel(env.UPCALL_LOG_LEVEL === undefined ? process.env : env));
  } catch (error) {
    // The level itself is invalid: log at the default level that start-up failed, naming the setting.
    log = createLogger(service, 'info');
    return always(log, failed(log, error));
  }
  const build = (from: NodeJS.ProcessEnv): Ready<App> => {
    try {
      return { ok: true, app: init(log, from) };
    } catch (error) {
      return failed(log, error);
    }
  };
  let plan: ReturnType<typeof secretPlan>;
  try {
    plan = secretPlan(functionSettings, env);
  } catch (error) {
    return always(log, failed(log, error));
  }
  if (plan.names.length === 0) return always(log, build(env));

  const readSecrets = createSecretReader(plan);
  let built: { key: string; ready: Ready<App> } | undefined;
  return {
    log,
    async ready(context) {
      let values: Record<string, string>;
      try {
        values = await readSecrets(roleCredentials(context.credentials, env), (error) =>
          log.warn({ err: error }, 'could not re-read the KMS secrets; using the values read last'),
        );
      } catch (error) {
        log.error({ err: error }, 'could not read the KMS secrets');
        const transient = error instanceof SecretUnavailable && error.transient;
        return { ok: false, failure: error as Error, transient };
      }
      // Rebuilt only when a value changed (a rotation): the same values keep the same app and its caches.
      const key = JSON.stringify(values);
      if (built?.key !== key) built = { key, ready: build({ ...env, ...values }) };
      return built.ready;
    },
  };
}

function always<App>(log: Logger, ready: Ready<App>): FunctionInstance<App> {
  return { log, ready: async () => ready };
}

function failed<App>(log: Logger, error: unknown): Ready<App> {
  const failure = error instanceof Error ? error : new Error(String(error));
  log.fatal({ err: failure }, 'start-up failed');
  return { ok: false, failure, transient: false };
}

/** The JSON FC passes as the event: a Buffer on FC, a string or an already-parsed value off it. */
export function fcEventJson(raw: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    if (Buffer.isBuffer(raw)) return { ok: true, value: JSON.parse(raw.toString('utf8')) };
    return { ok: true, value: typeof raw === 'string' ? JSON.parse(raw) : raw };
  } catch {
    return { ok: false, message: 'the event is not JSON' };
  }
}

/** One invocation's request id: FC's, or a fresh one off FC. */
export function invocationId(context: FcContext): string {
  return context.requestId ?? randomUUID();
}

/** One invocation's request id and a logger that carries it on every line. */
export function invocation(log: Logger, context: FcContext): { requestId: string; log: Logger } {
  const requestId = invocationId(context);
  return { requestId, log: log.child({ requestId }) };
}
