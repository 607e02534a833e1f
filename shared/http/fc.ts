/**
 * Adapter: Function Compute 3.0 built-in-runtime HTTP trigger event ⇄ EdgeRequest/EdgeResponse.
 * Written here because the published FC 3.0 adapters rebuild queries lossily, pass the client's Content-Length
 * through and normalise paths; this one keeps `rawPath` and the body bytes exactly.
 */
import { randomUUID } from 'node:crypto';
import { createLogger, type Logger } from '../log.js';
import {
  answerSafely,
  type EdgeHandler,
  type EdgeRequest,
  errorResponse,
  finalHeaders,
  type RoleCredentials,
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

export interface FcContext {
  requestId?: string;
  credentials?: RoleCredentials;
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
  let event: FcHttpEvent;
  try {
    const text = Buffer.isBuffer(raw)
      ? raw.toString('utf8')
      : typeof raw === 'string'
        ? raw
        : JSON.stringify(raw);
    event = JSON.parse(text) as FcHttpEvent;
  } catch {
    return 'the event is not JSON';
  }
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
 * Make FC's `handler(event, context)` from an EdgeHandler factory. The factory runs once (configuration is validated
 * there); if it throws, every request answers 500 `ConfigInvalid` naming the setting, and the log says the same.
 */
export function createFcHttpHandler(service: string, init: (log: Logger) => EdgeHandler) {
  const log = createLogger(service);
  let handler: EdgeHandler | undefined;
  let initError: Error | undefined;
  try {
    handler = init(log);
  } catch (error) {
    initError = error as Error;
    log.fatal({ err: initError }, 'start-up failed');
  }
  return async (event: unknown, context: FcContext = {}): Promise<FcHttpResult> => {
    const requestId = context.requestId ?? randomUUID();
    const requestLog = log.child({ requestId });
    const request = fromFcEvent(event, requestId);
    let response = errorResponse(400, 'BadEvent', typeof request === 'string' ? request : '', requestId);
    if (typeof request !== 'string') {
      response = handler
        ? await answerSafely(handler, request, { log: requestLog, credentials: context.credentials })
        : errorResponse(500, 'ConfigInvalid', initError?.message ?? 'not initialised', requestId);
    }
    return {
      statusCode: response.status,
      headers: finalHeaders(response, requestId),
      body: Buffer.from(response.body).toString('base64'),
      isBase64Encoded: true,
    };
  };
}
