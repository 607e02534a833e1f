/**
 * The typed request and response every upcall HTTP function is written against. Platform adapters (FC 3.0 events,
 * node:http) only translate to and from these; the functions' logic never sees a platform object.
 */
import type { Logger } from '../log.js';

export interface EdgeRequest {
  method: string;
  /** Path as received, still percent-encoded, no query. */
  path: string;
  /** Raw query without '?', '' when there is none. */
  query: string;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string | undefined>;
  /** Exact body bytes. */
  body: Uint8Array;
  requestId: string;
  sourceIp: string;
}

/** Temporary credentials of the function's role (FC's `context.credentials`). */
export interface RoleCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

export interface EdgeContext {
  log: Logger;
  /** Present on FC; the local stack passes the credentials it was configured with. */
  credentials?: RoleCredentials;
}

/**
 * A request's context whose logger (a child of `parent` carrying the request id) is made on first use: most requests
 * log one line or none, and a child logger per request costs more than a line.
 */
export function requestContext(
  parent: Logger,
  requestId: string,
  credentials?: RoleCredentials,
): EdgeContext {
  let log: Logger | undefined;
  return {
    get log() {
      log ??= parent.child({ requestId });
      return log;
    },
    credentials,
  };
}

export interface EdgeResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export type EdgeHandler = (request: EdgeRequest, context: EdgeContext) => Promise<EdgeResponse>;

/** How a function's callers read an error (the failure is already fit for them: see `answerSafely`). */
export type ErrorShape = (failure: HttpError, request: EdgeRequest) => EdgeResponse;

/** A function behind the edge: its handler, and its callers' error shape when that is not the JSON error. */
export interface EdgeApp {
  handle: EdgeHandler;
  errorShape?: ErrorShape;
}

/** An error meant for the caller: stable `code`, human `message`, and the status to answer with. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function jsonResponse(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): EdgeResponse {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
}

export function errorResponse(
  status: number,
  code: string,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): EdgeResponse {
  return jsonResponse(status, { error: { code, message, requestId } }, headers);
}

/** The JSON error: `{ error: { code, message, requestId } }` with the failure's status. */
export const jsonErrorShape: ErrorShape = (failure, request) =>
  errorResponse(failure.status, failure.code, failure.message, request.requestId, failure.headers);

/**
 * The one error boundary: run an app's handler so that it always answers, in the app's error shape. Each failure is
 * logged once. A 4xx `HttpError` reaches the caller as thrown; a 5xx keeps its status, code and headers, but its
 * message and cause (settings, upstream answers) go to the log only; anything else is a 500 `InternalError`. The
 * caller's message names the request id the log line carries.
 */
export async function answerSafely(
  app: EdgeApp,
  request: EdgeRequest,
  context: EdgeContext,
): Promise<EdgeResponse> {
  try {
    return await app.handle(request, context);
  } catch (error) {
    return (app.errorShape ?? jsonErrorShape)(callerFailure(error, request.requestId, context), request);
  }
}

function callerFailure(error: unknown, requestId: string, context: EdgeContext): HttpError {
  const hidden = `the function could not answer; its log has the details under request id ${requestId}`;
  if (!(error instanceof HttpError)) {
    context.log.error({ err: error }, 'unhandled error');
    return new HttpError(500, 'InternalError', hidden);
  }
  const { status, code, cause } = error;
  if (status < 500) {
    // An expected refusal is one line: its cause's message, never a stack trace.
    context.log.warn(
      { code, status, reason: cause instanceof Error ? cause.message : undefined },
      error.message,
    );
    return error;
  }
  context.log.error({ code, status, err: cause ?? undefined }, error.message);
  return new HttpError(status, code, hidden, error.headers);
}

/** Headers every response carries: the exact Content-Length (OSS rejects chunked callback answers) and the id. */
export function finalHeaders(response: EdgeResponse, requestId: string): Record<string, string> {
  // A copy with two names set, rather than `{ ...headers, name: value }`: V8 defines each property added after a
  // spread with a runtime call, ~0.45 µs apiece on every response.
  const headers = Object.assign({}, response.headers);
  headers['content-length'] = String(response.body.byteLength);
  headers['x-request-id'] = requestId;
  return headers;
}
