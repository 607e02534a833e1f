/**
 * Dispatch a media job to the media function through FC's async InvokeFunction (`@alicloud/fc20230330`), with the
 * job's deterministic task id: FC refuses a repeated task id with 409, which here means "already queued" — so a
 * replayed callback, or the OSS trigger after a callback, can never start the same object version twice.
 */
import { Readable } from 'node:stream';
import FcModule, { InvokeFunctionHeaders, InvokeFunctionRequest } from '@alicloud/fc20230330';
import { Config } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@darabonba/typescript';
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

// The SDK is CommonJS with `exports.default = Client`; under NodeNext the class sits on `.default`, while vitest's
// interop hands the class itself as the default import. Accept both.
function cjsDefault<T>(module: { default: T }): T {
  return typeof module === 'function' ? (module as T) : module.default;
}
const FcClient = cjsDefault(FcModule);
export type FcClient = InstanceType<typeof FcClient>;

export function createFcClient(options: FcEndpointOptions): FcClient {
  const url = new URL(options.endpoint);
  const timeout = options.timeoutMs ?? 10_000;
  return new FcClient(
    new Config({
      accessKeyId: options.credentials.accessKeyId,
      accessKeySecret: options.credentials.accessKeySecret,
      ...(options.credentials.securityToken ? { securityToken: options.credentials.securityToken } : {}),
      endpoint: url.host,
      protocol: url.protocol.replace(':', ''),
      connectTimeout: Math.min(timeout, 3000),
      readTimeout: timeout,
    }),
  );
}

export async function dispatchMediaJob(input: {
  fc: FcEndpointOptions;
  functionName: string;
  qualifier?: string;
  job: MediaJob;
}): Promise<DispatchOutcome> {
  const client = createFcClient(input.fc);
  const request = new InvokeFunctionRequest({
    body: Readable.from([Buffer.from(JSON.stringify(input.job))]),
    ...(input.qualifier ? { qualifier: input.qualifier } : {}),
  });
  const headers = new InvokeFunctionHeaders({ xFcInvocationType: 'Async', xFcAsyncTaskId: input.job.taskId });
  // The caller owns the deadline: no hidden SDK retries.
  const runtime = new RuntimeOptions({ autoretry: false });
  try {
    await client.invokeFunctionWithOptions(input.functionName, request, headers, runtime);
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
