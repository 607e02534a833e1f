/**
 * STS AssumeRole behind a small interface (the handler's tests inject their own), and its implementation with the
 * official `@alicloud/sts20150401` client — which, unlike ali-oss's STS class, sends the caller's SecurityToken, so
 * it works with the temporary credentials FC gives a function's role.
 */
import { cjsDefault } from '../../shared/cjs-default.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { STS_EXPIRATION_PATTERN } from '../../shared/token-contract.js';

export interface AssumeRoleInput {
  roleArn: string;
  roleSessionName: string;
  /** Session policy JSON: the session gets the intersection of it and the role's own policy. */
  policy: string;
  durationSeconds: number;
}

export interface IssuedCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** STS's own format, `2026-11-21T09:00:00Z` (what the mobile SDKs parse). */
  expiration: string;
}

/** Assume a role as `caller` (the function's own, possibly temporary, credentials). Throws `StsError`. */
export type AssumeRole = (caller: RoleCredentials, input: AssumeRoleInput) => Promise<IssuedCredentials>;

export type StsFailureKind = 'throttled' | 'rejected' | 'unavailable';

export class StsError extends Error {
  override name = 'StsError';
  constructor(
    readonly kind: StsFailureKind,
    /** STS's error code when STS answered; `StsUnreachable` / `StsBadResponse` otherwise. */
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The least privilege one user needs: PutObject (PostObject and multipart included) under the user's prefix, and
 * GetObject on what the media function derived from those uploads (`outputsPrefix`: outputs and manifests), so an
 * app can wait for its manifest and show its thumbnails with the same credentials. Never read on the uploads.
 */
export function uploadSessionPolicy(bucket: string, keyPrefix: string, outputsPrefix: string): string {
  return JSON.stringify({
    Version: '1',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['oss:PutObject', 'oss:AbortMultipartUpload', 'oss:ListParts'],
        Resource: [`acs:oss:*:*:${bucket}/${keyPrefix}*`],
      },
      { Effect: 'Allow', Action: ['oss:GetObject'], Resource: [`acs:oss:*:*:${bucket}/${outputsPrefix}*`] },
    ],
  });
}

const STS_EXPIRATION = new RegExp(STS_EXPIRATION_PATTERN);

/** STS's Expiration as the mobile SDKs need it: passed through when it has STS's format, else reformatted. */
function mobileExpiration(value: string): string | undefined {
  if (STS_EXPIRATION.test(value)) return value;
  const epoch = Date.parse(value);
  return Number.isNaN(epoch) ? undefined : new Date(epoch).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The SDK, loaded on the first AssumeRole: it and its HTTP stack were half of the token bundle's load time
 * (BENCHMARKS.md, cold start), and the form, put and multipart grants never use it.
 */
let sdk:
  | Promise<{
      Config: typeof import('@alicloud/openapi-core').$OpenApiUtil.Config;
      StsClient: typeof import('@alicloud/sts20150401').default;
      AssumeRoleRequest: typeof import('@alicloud/sts20150401').AssumeRoleRequest;
      RuntimeOptions: typeof import('@darabonba/typescript').RuntimeOptions;
    }>
  | undefined;
function loadSdk() {
  sdk ??= Promise.all([
    import('@alicloud/openapi-core'),
    import('@alicloud/sts20150401'),
    import('@darabonba/typescript'),
  ]).then(([core, sts, tea]) => ({
    Config: core.$OpenApiUtil.Config,
    StsClient: cjsDefault(sts.default),
    AssumeRoleRequest: sts.AssumeRoleRequest,
    RuntimeOptions: tea.RuntimeOptions,
  }));
  return sdk;
}

export interface StsClientOptions {
  /** `https://sts.aliyuncs.com`, or the local cloud's `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** Whole-call timeout in ms. */
  timeoutMs?: number;
}

interface SdkFailure {
  code?: unknown;
  statusCode?: unknown;
  requestId?: unknown;
  retryAfter?: unknown;
  data?: { Message?: unknown; message?: unknown };
  message?: unknown;
}

function toStsError(error: unknown): StsError {
  const failure = (typeof error === 'object' && error !== null ? error : {}) as SdkFailure;
  if (typeof failure.statusCode !== 'number' || typeof failure.code !== 'string') {
    // The transport's message quotes the whole request URL (role ARN, policy): it stays in the log, via `cause`.
    const code = typeof failure.code === 'string' ? ` (${failure.code})` : '';
    return new StsError('unavailable', 'StsUnreachable', `STS could not be reached${code}`, undefined, {
      cause: error,
    });
  }
  const said = failure.data?.Message ?? failure.data?.message ?? failure.message;
  const requestId = typeof failure.requestId === 'string' ? ` (STS request id ${failure.requestId})` : '';
  const message = `STS answered ${failure.statusCode} ${failure.code}: ${String(said)}${requestId}`;
  if (failure.code.includes('Throttling')) {
    // The SDK reports x-acs-retry-after in milliseconds.
    const retryMs = typeof failure.retryAfter === 'number' ? failure.retryAfter : 1000;
    return new StsError('throttled', failure.code, message, Math.max(1, Math.ceil(retryMs / 1000)), {
      cause: error,
    });
  }
  return new StsError('rejected', failure.code, message, undefined, { cause: error });
}

/**
 * A connection reset before STS answered: what a keep-alive socket gives when the server closed it while idle just as
 * the request went out. The SDK's HTTP layer (httpx) pools sockets in a private agent, so whether the socket was a
 * reused one cannot be seen from here; a reset is retried once on a fresh connection, and a reset there is final.
 */
function resetBeforeAnswer(error: unknown): boolean {
  const failure = (typeof error === 'object' && error !== null ? error : {}) as SdkFailure;
  if (typeof failure.statusCode === 'number') return false;
  const text = `${String(failure.code ?? '')} ${String(failure.message ?? '')}`;
  return /ECONNRESET|EPIPE|socket hang up/.test(text);
}

export function createStsAssumeRole(options: StsClientOptions): AssumeRole {
  const url = new URL(options.endpoint);
  const timeout = options.timeoutMs ?? 5000;
  return async (caller, input) => {
    const { Config, StsClient, AssumeRoleRequest, RuntimeOptions } = await loadSdk();
    const client = new StsClient(
      new Config({
        accessKeyId: caller.accessKeyId,
        accessKeySecret: caller.accessKeySecret,
        ...(caller.securityToken ? { securityToken: caller.securityToken } : {}),
        endpoint: url.host,
        protocol: url.protocol.replace(':', ''),
        connectTimeout: Math.min(timeout, 2000),
        readTimeout: timeout,
      }),
    );
    const request = new AssumeRoleRequest({
      roleArn: input.roleArn,
      roleSessionName: input.roleSessionName,
      policy: input.policy,
      durationSeconds: input.durationSeconds,
    });
    let body: { credentials?: Partial<Record<keyof IssuedCredentials, unknown>> } | undefined;
    try {
      // No hidden SDK retries: STS is rate-limited, and the caller (the app) decides when to retry.
      body = (await client.assumeRoleWithOptions(request, new RuntimeOptions({ autoretry: false }))).body;
    } catch (error) {
      if (!resetBeforeAnswer(error)) throw toStsError(error);
      try {
        // `keepAlive` set makes the SDK use a new agent for this call: a fresh connection.
        const fresh = new RuntimeOptions({ autoretry: false, keepAlive: false });
        body = (await client.assumeRoleWithOptions(request, fresh)).body;
      } catch (retryError) {
        throw toStsError(retryError);
      }
    }
    const { accessKeyId, accessKeySecret, securityToken, expiration } = body?.credentials ?? {};
    const mobile = typeof expiration === 'string' ? mobileExpiration(expiration) : undefined;
    if (
      typeof accessKeyId !== 'string' ||
      typeof accessKeySecret !== 'string' ||
      typeof securityToken !== 'string' ||
      !accessKeyId ||
      !accessKeySecret ||
      !securityToken ||
      !mobile
    ) {
      throw new StsError('unavailable', 'StsBadResponse', 'STS answered without complete credentials');
    }
    return { accessKeyId, accessKeySecret, securityToken, expiration: mobile };
  };
}
