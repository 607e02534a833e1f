/**
 * The one start-up path of every function, HTTP (shared/http/fc.ts) or event (the media function): the logger, then
 * the function's app built once from the environment. A failure is logged once at start-up, whole (the settings it
 * names, and their values unless secret), and kept: each invocation answers with it, and the caller learns no more
 * than that the function is misconfigured.
 */
import { randomUUID } from 'node:crypto';
import type { RoleCredentials } from './http/edge.js';
import { createLogger, type Logger, logLevel } from './log.js';

/** What FC passes every invocation besides the event. */
export interface FcContext {
  requestId?: string;
  /** The function role's temporary credentials. */
  credentials?: RoleCredentials;
}

export type StartedFunction<App> =
  | { log: Logger; ok: true; app: App }
  | { log: Logger; ok: false; failure: Error };

export function startFunction<App>(
  service: string,
  env: NodeJS.ProcessEnv,
  init: (log: Logger) => App,
): StartedFunction<App> {
  let log: Logger;
  try {
    log = createLogger(service, logLevel(env));
  } catch (error) {
    // The level itself is invalid: log at the default level that start-up failed, naming the setting.
    log = createLogger(service, 'info');
    return failed(log, error);
  }
  try {
    return { log, ok: true, app: init(log) };
  } catch (error) {
    return failed(log, error);
  }
}

function failed<App>(log: Logger, error: unknown): StartedFunction<App> {
  const failure = error instanceof Error ? error : new Error(String(error));
  log.fatal({ err: failure }, 'start-up failed');
  return { log, ok: false, failure };
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

/** One invocation's request id (FC's; a fresh one off FC) and a logger that carries it on every line. */
export function invocation(log: Logger, context: FcContext): { requestId: string; log: Logger } {
  const requestId = context.requestId ?? randomUUID();
  return { requestId, log: log.child({ requestId }) };
}
