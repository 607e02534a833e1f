/**
 * Dispatch a media job to the media function through FC's async InvokeFunction, with the job's deterministic task
 * id: FC refuses a repeated task id with 409, which here means "already queued" — so a replayed callback, or the OSS
 * trigger after a callback, can never start the same object version twice. Webhook deliveries are queued the same
 * way (`invokeAsync`, with a delay for retries).
 *
 * The call goes through the official SDK core (`@alicloud/openapi-core`'s generic `callApi` with the operation's
 * `Params`, exactly as `@alicloud/fc20230330`'s `invokeFunctionWithOptions` builds them, ACS3-HMAC-SHA256 signed)
 * rather than the generated FC client: that client carries FC's whole API (~0.5 MB of models) into the callback
 * function, whose bundle size is its cold start.
 */
import OpenApiModule, { $OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import { cjsDefault } from './cjs-default.js';
import type { RoleCredentials } from './http/edge.js';
import type { MediaJob } from './media-job.js';

export interface FcEndpointOptions {
  /** `https://<accountId>.<region>.fc.aliyuncs.com` (or `-internal`), or the local cloud's `http://127.0.0.1:PORT`. */
  endpoint: string;
  credentials: RoleCredentials;
  /** Whole-call timeout in ms (connect + read). */
  timeoutMs?: number;
}

export type DispatchOutcome = 'queued' | 'already-queued';

/** Why a dispatch failed; `code` is FC's error code when FC answered, else a transport code. */
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

const SdkClient = cjsDefault(OpenApiModule);
type SdkClient = InstanceType<typeof SdkClient>;

/** The last client made, reused while the endpoint and credentials stay the same (FC rotates role credentials). */
let cachedClient: { key: string; client: SdkClient } | undefined;

function fcClient(options: FcEndpointOptions): SdkClient {
  const { credentials } = options;
  const key = [options.endpoint, credentials.accessKeyId, credentials.securityToken ?? ''].join('\n');
  if (cachedClient?.key !== key) {
    const url = new URL(options.endpoint);
    const client = new SdkClient(
      new $OpenApiUtil.Config({
        accessKeyId: credentials.accessKeyId,
        accessKeySecret: credentials.accessKeySecret,
        ...(credentials.securityToken ? { securityToken: credentials.securityToken } : {}),
        endpoint: url.host,
        protocol: url.protocol.replace(':', ''),
      }),
    );
    cachedClient = { key, client };
  }
  return cachedClient.client;
}

/** FC 3.0's InvokeFunction, as `@alicloud/fc20230330` declares it (`bodyType` aside: see below). */
function invokeFunctionParams(functionName: string) {
  return new $OpenApiUtil.Params({
    action: 'InvokeFunction',
    version: '2023-03-30',
    protocol: 'HTTPS',
    pathname: `/2023-03-30/functions/${encodeURIComponent(functionName)}/invocations`,
    method: 'POST',
    authType: 'AK',
    style: 'ROA',
    reqBodyType: 'byte',
    // Read the (empty) answer of an async invocation to its end, so the keep-alive connection is free again.
    bodyType: 'string',
  });
}

export async function dispatchMediaJob(input: {
  fc: FcEndpointOptions;
  functionName: string;
  qualifier?: string;
  job: MediaJob;
}): Promise<DispatchOutcome> {
  return invokeAsync({ ...input, taskId: input.job.taskId, event: input.job });
}

/**
 * Queue any event for a function (FC async InvokeFunction) under a task id, optionally after `delaySeconds` (FC's
 * `x-fc-async-delay`, 0–3600). 409 — the task id was seen — counts as already queued.
 */
export async function invokeAsync(input: {
  fc: FcEndpointOptions;
  functionName: string;
  qualifier?: string;
  taskId: string;
  event: unknown;
  delaySeconds?: number;
}): Promise<DispatchOutcome> {
  const client = fcClient(input.fc);
  const request = new $OpenApiUtil.OpenApiRequest({
    headers: {
      'x-fc-invocation-type': 'Async',
      'x-fc-async-task-id': input.taskId,
      ...(input.delaySeconds ? { 'x-fc-async-delay': String(input.delaySeconds) } : {}),
      // The event is opaque bytes to FC, as the generated client sends it.
      'content-type': 'application/octet-stream',
    },
    query: input.qualifier ? { qualifier: input.qualifier } : {},
    body: Buffer.from(JSON.stringify(input.event)),
  });
  const timeout = input.fc.timeoutMs ?? 10_000;
  // The caller owns the deadline: no hidden SDK retries (openapi-core retries only when told to).
  const runtime = new RuntimeOptions({
    autoretry: false,
    connectTimeout: Math.min(timeout, 3000),
    readTimeout: timeout,
  });
  try {
    await client.callApi(invokeFunctionParams(input.functionName), request, runtime);
    return 'queued';
  } catch (error) {
    const failure = error as {
      statusCode?: number;
      code?: string;
      message?: string;
      data?: { statusCode?: number };
    };
    const status = failure.statusCode ?? failure.data?.statusCode;
    if (status === 409) return 'already-queued';
    throw new DispatchError(
      failure.code ?? 'DispatchFailed',
      `InvokeFunction ${input.functionName} failed: ${failure.message ?? String(error)}`,
      status,
      { cause: error },
    );
  }
}

/** The FC API endpoint: the explicit setting, else the region's internal endpoint for this account. */
export function fcEndpoint(explicit: string, region: string, env: NodeJS.ProcessEnv): string {
  if (explicit !== '') return explicit.replace(/\/+$/, '');
  const accountId = env.FC_ACCOUNT_ID;
  if (!accountId) throw new Error('UPCALL_FC_ENDPOINT is empty and FC_ACCOUNT_ID is not set (it is on FC)');
  return `https://${accountId}.${region}-internal.fc.aliyuncs.com`;
}
