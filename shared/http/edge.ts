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

export interface EdgeResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export type EdgeHandler = (request: EdgeRequest, context: EdgeContext) => Promise<EdgeResponse>;

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

/**
 * Run a handler so that it always answers: `HttpError`s become their JSON error, anything else a 500 whose message
 * points at the log line (which holds the cause) by request id.
 */
export async function answerSafely(
  handler: EdgeHandler,
  request: EdgeRequest,
  context: EdgeContext,
): Promise<EdgeResponse> {
  try {
    return await handler(request, context);
  } catch (error) {
    if (error instanceof HttpError) {
      // An expected refusal (4xx) is one line: its cause's message, never a stack trace. 5xx keep the whole cause.
      const cause = error.cause;
      const detail =
        error.status < 500
          ? { reason: cause instanceof Error ? cause.message : undefined }
          : { err: cause ?? undefined };
      context.log.warn({ code: error.code, status: error.status, ...detail }, error.message);
      return errorResponse(error.status, error.code, error.message, request.requestId, error.headers);
    }
    context.log.error({ err: error }, 'unhandled error');
    return errorResponse(
      500,
      'InternalError',
      `internal error; the function log has the cause under request id ${request.requestId}`,
      request.requestId,
    );
  }
}

/** Headers every response carries: the exact Content-Length (OSS rejects chunked callback answers) and the id. */
export function finalHeaders(response: EdgeResponse, requestId: string): Record<string, string> {
  return {
    ...response.headers,
    'content-length': String(response.body.byteLength),
    'x-request-id': requestId,
  };
}
