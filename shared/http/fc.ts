/**
 * Adapter: Function Compute 3.0 built-in-runtime HTTP trigger event ⇄ EdgeRequest/EdgeResponse.
 * Written here because the published FC 3.0 adapters rebuild queries lossily, pass the client's Content-Length
 * through and normalise paths; this one keeps `rawPath` and the body bytes exactly, and states the length of those.
 */

import type { SettingName } from '../config.js';
import { type FcContext, fcEventJson, invocationId, startFunction } from '../fc-function.js';
import type { Logger } from '../log.js';
import {
  answerSafely,
  type EdgeApp,
  type EdgeRequest,
  type EdgeResponse,
  type ErrorShape,
  errorResponse,
  finalHeaders,
  HttpError,
  requestContext,
} from './edge.js';

/** The event FC passes for an HTTP trigger (a Buffer of this JSON). */
export interface FcHttpEvent {
  version?: string;
  rawPath: string;
  body?: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string>;
  queryParameters?: Record<string, string>;
  requestContext?: { requestId?: string; http?: { method?: string; sourceIp?: string } };
}

export interface FcHttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: true;
}

/**
 * FC gives only the parsed `queryParameters` map, so the query is rebuilt: lossy (order, repeats and the exact
 * escaping are gone). upcall issues callback URLs without a query for that reason.
 */
function rebuildQuery(parameters: Record<string, string> | undefined): string {
  if (!parameters) return '';
  return Object.entries(parameters)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
}

/** Decode an FC HTTP event into an EdgeRequest, or explain why it is not one. */
export function fromFcEvent(raw: unknown, requestId: string): EdgeRequest | string {
  const json = fcEventJson(raw);
  if (!json.ok) return json.message;
  const event = json.value as FcHttpEvent;
  const method = event?.requestContext?.http?.method;
  if (typeof event?.rawPath !== 'string' || typeof method !== 'string') {
    return 'the event has no rawPath or requestContext.http.method (is this an HTTP trigger?)';
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  const body = event.body
    ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  // The client's value describes what it sent, not necessarily the bytes FC hands over; this one does.
  headers['content-length'] = String(body.byteLength);
  return {
    method: method.toUpperCase(),
    path: event.rawPath,
    query: rebuildQuery(event.queryParameters),
    headers,
    body,
    requestId,
    sourceIp: event.requestContext?.http?.sourceIp ?? '',
  };
}

/**
 * The app of a function that cannot answer: misconfigured (500 `ConfigInvalid`), or its KMS secrets unreadable for
 * now (503 `SecretsUnavailable`); the details are in the log.
 */
function unavailable(failure: Error, transient: boolean, errorShape: ErrorShape | undefined): EdgeApp {
  const error = transient
    ? new HttpError(503, 'SecretsUnavailable', failure.message, { 'retry-after': '5' }, { cause: failure })
    : new HttpError(500, 'ConfigInvalid', failure.message, {}, { cause: failure });
  return {
    handle: async () => {
      throw error;
    },
    ...(errorShape ? { errorShape } : {}),
  };
}

/**
 * Make FC's `handler(event, context)` from an app factory (configuration is validated there; see shared/fc-function.ts
 * for when it runs). If it throws, every request answers 500 `ConfigInvalid` in `startupErrorShape` (the app's own
 * shape needs the app), and the log names the settings. `settings`: what the app reads (which secrets KMS may hold).
 */
export function createFcHttpHandler(
  service: string,
  init: (log: Logger, env: NodeJS.ProcessEnv) => EdgeApp,
  options: {
    env?: NodeJS.ProcessEnv;
    settings?: readonly SettingName[];
    startupErrorShape?: ErrorShape;
  } = {},
) {
  const instance = startFunction(service, options.env ?? process.env, init, options.settings);
  return async (event: unknown, context: FcContext = {}): Promise<FcHttpResult> => {
    const requestId = invocationId(context);
    const request = fromFcEvent(event, requestId);
    let response: EdgeResponse;
    if (typeof request === 'string') response = errorResponse(400, 'BadEvent', request, requestId);
    else {
      const ready = await instance.ready(context);
      const app = ready.ok
        ? ready.app
        : unavailable(ready.failure, ready.transient, options.startupErrorShape);
      response = await answerSafely(
        app,
        request,
        requestContext(instance.log, requestId, context.credentials),
      );
    }
    return {
      statusCode: response.status,
      headers: finalHeaders(response, requestId),
      body: Buffer.from(response.body).toString('base64'),
      isBase64Encoded: true,
    };
  };
}
