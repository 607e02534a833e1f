/**
 * Every failure of an upload is an `UploadError` with a stable `code` an app may branch on, a message a person can
 * act on, and whether retrying later may help. Codes never change meaning; new ones may be added.
 */

export type UploadErrorCode =
  /** The token endpoint refused (4xx): bad or expired app auth, type or size not allowed. `status`/`detail` say which. */
  | 'TokenRefused'
  /** The token endpoint could not be reached, failed (5xx), or answered something that is not a grant. */
  | 'TokenUnavailable'
  /** OSS refused a request for good (4xx other than a callback failure): `detail` carries OSS's code and message. */
  | 'OssRefused'
  /** OSS stored the object but the callback refused it or failed (OSS's 203 CallbackFailed). */
  | 'CallbackRefused'
  /** The network kept failing (or OSS kept answering 5xx) after every retry; the checkpoint is kept for a resume. */
  | 'NetworkFailed'
  /** The media job finished with `status: failed`; `detail.code` is the manifest's failure code. */
  | 'ProcessingFailed'
  /** No manifest appeared within `manifestTimeoutMs`. */
  | 'TimedOut'
  /** The caller aborted through its AbortSignal (or `cancel()`). */
  | 'Aborted'
  /** The file cannot be uploaded as given (no content type, larger than the grant allows). */
  | 'InvalidFile';

export interface UploadErrorDetail {
  /** HTTP status of the answer that decided the failure, when there was one. */
  status?: number;
  /** The server's own error code (token endpoint's `error.code`, OSS's `Code`, the manifest's `error.code`). */
  code?: string;
  /** The request id to quote to whoever runs the server (token endpoint or OSS). */
  requestId?: string;
  /** The object key, once one was chosen. */
  key?: string;
}

export class UploadError extends Error {
  override name = 'UploadError';
  constructor(
    readonly code: UploadErrorCode,
    message: string,
    readonly detail: UploadErrorDetail = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Worth trying again later (the same call resumes from the checkpoint where there is one). */
  get retryable(): boolean {
    return this.code === 'NetworkFailed' || this.code === 'TokenUnavailable' || this.code === 'TimedOut';
  }
}

/** A request that never got an HTTP answer (connection refused, reset, DNS, CORS refusal in a browser). */
export class NetworkError extends Error {
  override name = 'NetworkError';
}

export const isAbort = (error: unknown): boolean =>
  (error instanceof UploadError && error.code === 'Aborted') ||
  (error instanceof Error && error.name === 'AbortError');

export function abortError(signal: AbortSignal | undefined): UploadError {
  const reason = signal?.reason;
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new UploadError('Aborted', `the upload was aborted (${why})`, {}, { cause: reason });
}
