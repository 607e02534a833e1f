/** Why a media job ends without its outputs, when retrying cannot help. */
import type { MediaFailureCode } from '../../shared/media-manifest.js';

/**
 * Thrown by the pipelines for inputs that will never process (corrupt, unsupported, too large, ffmpeg refusing them);
 * the job records it in a `failed` manifest instead of throwing to FC. Any other error is treated as transient.
 */
export class MediaFailure extends Error {
  override name = 'MediaFailure';
  readonly code: MediaFailureCode;
  constructor(code: MediaFailureCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The deployment, not the input, cannot run the job (a tool or library that does not load): the job ends with the
 * `WorkerMisconfigured` manifest (preflight.ts), since a retry would meet the same deployment.
 */
export class WorkerMisconfigured extends Error {
  override name = 'WorkerMisconfigured';
}
