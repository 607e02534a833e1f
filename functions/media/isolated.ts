/**
 * Rendering an image in a child process (image-child.ts) under a deadline that really stops the work: at the
 * deadline the child is killed (SIGKILL), which ends libvips' native threads too; the job records `RenderTimeout`.
 * A child that dies of a signal we did not send crashed on the file's bytes (a decoder bug, memory blown by the
 * file): permanent, `CorruptMedia`. A child that exits without answering, or cannot start, is the deployment's
 * trouble: thrown, so FC retries.
 *
 * The child is the bundle's `image-child.js` beside `index.js` (npm run build), or, running from source, the
 * TypeScript file run through tsx — the same loader the dev stack and the tests use.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MediaFailureCode } from '../../shared/media-manifest.js';
import { MediaFailure } from './failure.js';
import type { ImageInfo, ImageOptions, RenderedImage, ThumbnailSpec } from './image.js';

export interface ImageChildRequest {
  sourcePath: string;
  outputs: ThumbnailSpec[];
  options: ImageOptions;
}

export type ImageChildReply =
  | { ok: true; rendered: { input: ImageInfo; outputs: RenderedImage[] } }
  /** A `MediaFailure`, with what the decoder said (`cause`) for the log. */
  | { ok: false; failure: { code: MediaFailureCode; message: string; cause?: string } }
  /** Anything else: the instance's trouble. */
  | { ok: false; error: string };

function childModule(): { path: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(fromSource ? './image-child.ts' : './image-child.js', import.meta.url));
  return { path, execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

/** Render every thumbnail of `outputs` from the image at `sourcePath` in a child process, killed at `timeoutMs`. */
export function renderThumbnailsIsolated(
  request: ImageChildRequest,
  timeoutMs: number,
): Promise<{ input: ImageInfo; outputs: RenderedImage[] }> {
  const { path, execArgv } = childModule();
  return new Promise((resolve, reject) => {
    const child = fork(path, [], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answer: ImageChildReply | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('message', (message: ImageChildReply) => {
      answer = message;
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`the image renderer could not start: ${error.message}`, { cause: error }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new MediaFailure(
            'RenderTimeout',
            `the image did not render within ${Math.ceil(timeoutMs / 1000)} s`,
          ),
        );
      } else if (answer?.ok) {
        resolve(answer.rendered);
      } else if (answer && 'failure' in answer) {
        const { code: failureCode, message, cause } = answer.failure;
        reject(new MediaFailure(failureCode, message, cause ? { cause: new Error(cause) } : undefined));
      } else if (answer) {
        reject(new Error(answer.error));
      } else if (signal) {
        reject(
          new MediaFailure('CorruptMedia', 'the image decoder crashed on the file', {
            cause: new Error(`the image renderer died of ${signal}`),
          }),
        );
      } else {
        reject(new Error(`the image renderer exited with ${code} without an answer`));
      }
    });
    child.send({ ...request } satisfies ImageChildRequest);
  });
}
