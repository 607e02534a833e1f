/** A permanent failure of a media job: the input itself is the problem, so retrying cannot help. */
import type { MediaFailureCode } from '../../shared/media-manifest.js';

/**
 * Thrown by the pipelines for inputs that will never process (corrupt, unsupported, too large, ffmpeg refusing them);
 * the job records it in a `failed` manifest instead of throwing to FC. Any other error is treated as transient.
 */
export class MediaFailure extends Error {
  override name = 'MediaFailure';
  constructor(
    readonly code: MediaFailureCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
