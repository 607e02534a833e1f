/**
 * The FC async-invoke client: FC 3.0's InvokeFunction (`POST /2023-03-30/functions/{name}/invocations`,
 * `x-fc-invocation-type: Async`) under a caller-chosen task id, signed with ACS3-HMAC-SHA256, sent over the shared
 * keep-alive pool (shared/http/outbound.ts). Media jobs and webhook deliveries are queued this way; the function name
 * is an argument of every call.
 *
 * Exactly-once guard: FC refuses a task id it has already seen, so a replayed callback, a retry, or the OSS trigger
 * after the callback cannot queue the same work twice — provided the refusal is read as "already queued". FC's docs
 * give two shapes for it (production-facts.md): 409 on the task-deduplication pages, 400 on an older copy of the
 * async-task page. It is recognised by meaning: a 409 (InvokeFunction has no other conflict), or any answer whose
 * error code is FC's "async task already exists" code. Every other answer is a failure the caller must see.
 *
 * Signed by shared/acs3.ts rather than through `@alicloud/openapi-core`: the SDK core's request building, signing and
 * HTTP stack were ~18% of the callback's CPU per request and most of its remaining bundle.
 */
import { sendAcs3Request } from './acs3.js';
import type { RoleCredentials } from './http/edge.js';
import { TransportError } from './http/outbound.js';
import type { MediaJob } from './media-job.js';

const FC_API_VERSION = '2023-03-30';

/** FC's error code for a task id it has seen (FC answers it with 409, or 400 per an older copy of its docs). */
export const DUPLICATE_TASK_CODES: ReadonlySet<string> = new Set(['StatefulAsyncInvocationAlreadyExists']);

export interface FcEndpointOptions {
  /** `https://<accountId>.<region>.fc.aliyuncs.com` (or `-internal`), or the local cloud's `http://127.0.0.1:PORT`. */
  endpoint: string;
  credentials: RoleCredentials;
  /** Whole-call timeout in ms (connect + answer). Default 10 s. */
  timeoutMs?: number;
}

export type DispatchOutcome = 'queued' | 'already-queued';

/** Why an invocation failed; `code` is FC's error code when FC answered, else `RequestTimeout`/`NetworkError`. */
export class DispatchError extends Error {
  override name = 'DispatchError';
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** FC's error answer: FC 3.0 sends `{Code, Message}`, FC 2.0's older shape `{ErrorCode, ErrorMessage}`. */
function fcError(body: Buffer): { code?: string; message?: string } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const text = (...keys: string[]) =>
      keys.map((key) => parsed[key]).find((value): value is string => typeof value === 'string');
    return {
      code: text('Code', 'ErrorCode', 'errorCode'),
      message: text('Message', 'ErrorMessage', 'errorMessage'),
    };
  } catch {
    return {};
  }
}

/** Whether FC's refusal means the task id was seen before: the work is queued already. */
export function isDuplicateTask(status: number, code: string | undefined): boolean {
  return status === 409 || (code !== undefined && DUPLICATE_TASK_CODES.has(code));
}

export function dispatchMediaJob(input: {
  fc: FcEndpointOptions;
  functionName: string;
  qualifier?: string;
  job: MediaJob;
}): Promise<DispatchOutcome> {
  // Spelled out, not spread: V8 defines each property added after a spread with a runtime call (once per callback).
  return invokeAsync({
    fc: input.fc,
    functionName: input.functionName,
    qualifier: input.qualifier,
    taskId: input.job.taskId,
    event: input.job,
  });
}

const invocationName = (input: { functionName: string; taskId: string }) =>
  `InvokeFunction ${input.functionName} (task ${input.taskId})`;

/**
 * Queue any event for a function (FC async InvokeFunction) under a task id, optionally after `delaySeconds` (FC's
 * `x-fc-async-delay`, 0–3600). A refusal of a seen task id counts as already queued (see the header).
 */
export async function invokeAsync(input: {
  fc: FcEndpointOptions;
  functionName: string;
  qualifier?: string;
  taskId: string;
  event: unknown;
  delaySeconds?: number;
}): Promise<DispatchOutcome> {
  // The event is opaque bytes to FC, as the official SDK sends it.
  const body = Buffer.from(JSON.stringify(input.event));
  let answer: Awaited<ReturnType<typeof sendAcs3Request>>;
  try {
    answer = await sendAcs3Request({
      endpoint: input.fc.endpoint,
      credentials: input.fc.credentials,
      action: 'InvokeFunction',
      version: FC_API_VERSION,
      pathname: `/${FC_API_VERSION}/functions/${input.functionName}/invocations`,
      query: input.qualifier ? [['qualifier', input.qualifier]] : [],
      contentType: 'application/octet-stream',
      body,
      headers: {
        'x-fc-invocation-type': 'Async',
        'x-fc-async-task-id': input.taskId,
        ...(input.delaySeconds ? { 'x-fc-async-delay': String(input.delaySeconds) } : {}),
      },
      timeoutMs: input.fc.timeoutMs ?? 10_000,
    });
  } catch (error) {
    const code = error instanceof TransportError ? error.code : 'NetworkError';
    throw new DispatchError(code, `${invocationName(input)} failed: ${(error as Error).message}`, undefined, {
      cause: error,
    });
  }
  if (answer.status >= 200 && answer.status < 300) return 'queued';
  // A 409 means a seen task id whatever its body says (see the header): a replay need not parse it.
  const { code, message } = answer.status === 409 ? {} : fcError(answer.body);
  if (isDuplicateTask(answer.status, code)) return 'already-queued';
  throw new DispatchError(
    code ?? `Http${answer.status}`,
    `${invocationName(input)} failed: ${answer.status} ${code ?? ''}${message ? ` (${message})` : ''}`,
    answer.status,
  );
}

/** The FC API endpoint: the explicit setting, else the region's internal endpoint for this account. */
export function fcEndpoint(explicit: string, region: string, env: NodeJS.ProcessEnv): string {
  if (explicit !== '') return explicit.replace(/\/+$/, '');
  const accountId = env.FC_ACCOUNT_ID;
  if (!accountId) throw new Error('UPCALL_FC_ENDPOINT is empty and FC_ACCOUNT_ID is not set (it is on FC)');
  return `https://${accountId}.${region}-internal.fc.aliyuncs.com`;
}
