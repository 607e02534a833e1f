/**
 * What an app built on ali-oss does to upload with upcall, as plain steps the security tests call (the CLI uses the
 * client library): get a token, upload with ali-oss and the callback attached (multipart for large files). Every
 * failure is an `UploadFailure` whose `stage` says which step failed.
 */
import { stat } from 'node:fs/promises';
import type OSS from 'ali-oss';
import { type CallbackAnswer, CallbackAnswerSchema } from '../../shared/callback-contract.js';
import { createOssClient, type OssClient } from '../../shared/oss-client.js';
import { compileSchema, formatIssues } from '../../shared/schema.js';
import { type TokenRequest, type TokenResponse, TokenResponseSchema } from '../../shared/token-contract.js';

/** Which step failed. */
export type FailureStage = 'token-unreachable' | 'token-refused' | 'upload' | 'callback' | 'unexpected';

export class UploadFailure extends Error {
  override name = 'UploadFailure';
  constructor(
    readonly stage: FailureStage,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const tokenResponseValidator = compileSchema(TokenResponseSchema);
const callbackAnswerValidator = compileSchema(CallbackAnswerSchema);

/** ali-oss errors carry the HTTP status and OSS's code. */
interface OssFailure {
  status?: number;
  code?: string;
  message?: string;
}
const ossFailure = (error: unknown): OssFailure => (error ?? {}) as OssFailure;
const describeOss = (error: OssFailure) =>
  `${error.status ?? 'no answer'} ${error.code ?? ''}: ${error.message ?? String(error)}`.replace('  ', ' ');

/** POST the token function's JSON API. */
export async function requestToken(
  tokenUrl: string,
  jwt: string,
  wanted: TokenRequest,
  options: { timeoutMs?: number } = {},
): Promise<TokenResponse> {
  let response: Response;
  try {
    response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify(wanted),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
  } catch (error) {
    const { cause } = error as { cause?: { code?: string; message?: string } };
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new UploadFailure('token-unreachable', `cannot reach the token server at ${tokenUrl} (${reason})`, {
      cause: error,
    });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UploadFailure(
      'token-unreachable',
      `the token server at ${tokenUrl} answered ${response.status} with something that is not JSON`,
    );
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } }).error;
    const detail = `${response.status} ${error?.code ?? 'Unknown'}: ${error?.message ?? text}`;
    throw response.status >= 500
      ? new UploadFailure('token-unreachable', `the token server failed: ${detail}`)
      : new UploadFailure('token-refused', `the token server refused: ${detail}`);
  }
  const checked = tokenResponseValidator.validate(body);
  if (!checked.ok) {
    throw new UploadFailure(
      'token-unreachable',
      `the token server's answer is not a token response: ${formatIssues(checked.issues)}`,
    );
  }
  return checked.value;
}

/** ali-oss with the grant's credentials, as an app builds it from the token response. */
export function grantClient(grant: TokenResponse, timeoutMs = 120_000): OssClient {
  return createOssClient({
    endpoint: grant.endpoint,
    region: grant.region,
    bucket: grant.bucket,
    credentials: grant.credentials,
    timeoutMs,
  });
}

export interface UploadOptions {
  /** Full object key; must start with the grant's key prefix. */
  key: string;
  contentType: string;
  /** Files larger than this go up in parts (the callback rides on CompleteMultipartUpload). */
  multipartThresholdBytes: number;
  partSizeBytes: number;
  /** Called with the fraction done after each part (multipart only). */
  onProgress?: (fraction: number) => void;
}

/** OSS allows at most 10 000 parts, each at least 100 KiB (the last excepted). */
const MAX_PARTS = 10_000;
const MIN_PART_BYTES = 100 * 1024;

/** Upload `path` and return the callback function's answer (OSS passes it through). */
export async function uploadFile(
  client: OssClient,
  grant: TokenResponse,
  path: string,
  options: UploadOptions,
): Promise<{ answer: CallbackAnswer; multipart: boolean; size: number }> {
  const { size } = await stat(path);
  const multipart = size > options.multipartThresholdBytes;
  const callback = grant.callback.aliOss;
  let data: unknown;
  try {
    if (multipart) {
      const partSize = Math.max(options.partSizeBytes, MIN_PART_BYTES, Math.ceil(size / MAX_PARTS));
      const result = await client.multipartUpload(options.key, path, {
        mime: options.contentType,
        partSize,
        parallel: 2,
        callback,
        // The ticket rides with the object too (on InitiateMultipartUpload); without it the upload is refused.
        headers: grant.uploadHeaders,
        progress: (fraction: number) => options.onProgress?.(fraction),
      });
      data = result.data;
    } else {
      const result = await client.put(options.key, path, {
        mime: options.contentType,
        callback,
        headers: grant.uploadHeaders,
      } as OSS.PutObjectOptions);
      data = result.data;
    }
  } catch (error) {
    const failure = ossFailure(error);
    if (failure.status === 203) {
      throw new UploadFailure(
        'callback',
        `OSS stored ${options.key}, but its callback failed (${describeOss(failure)}). The upload was refused, or ` +
          'the callback service is down — then the media worker still processes it through its OSS trigger.',
        { cause: error },
      );
    }
    throw new UploadFailure('upload', `the upload of ${options.key} failed: ${describeOss(failure)}`, {
      cause: error,
    });
  }
  const checked = callbackAnswerValidator.validate(data);
  if (!checked.ok) {
    throw new UploadFailure(
      'callback',
      `OSS stored ${options.key}, but the callback's answer is not upcall's: ${formatIssues(checked.issues)}`,
    );
  }
  return { answer: checked.value, multipart, size };
}
