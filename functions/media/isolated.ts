/**
 * Rendering an image in a child process (image-child.ts) under a deadline that really stops the work: at the
 * deadline the child is killed (SIGKILL), which ends libvips' native threads too; the job records `RenderTimeout`.
 * A child that dies of a signal we did not send crashed on the file's bytes (a decoder bug, memory blown by the
 * file): permanent, `CorruptMedia`. A child that exits without answering, or cannot start, is the instance's
 * trouble: thrown, so FC retries. A child that answers that sharp does not load is the deployment's:
 * `WorkerMisconfigured`, which ends the job with a `failed` manifest at once (app.ts). A renderer that answered
 * serves the next render (one waits at most); one that was killed or died is replaced. `checkRenderer` asks a renderer
 * only to load sharp: the media function's preflight (app.ts), before any work a broken sharp would waste.
 *
 * The child is the bundle's `image-child.js` beside `index.js` (npm run build), or, running from source, the
 * TypeScript file run through tsx — the same loader the dev stack and the tests use.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MediaFailureCode } from '../../shared/media-manifest.js';
import { MediaFailure, WorkerMisconfigured } from './failure.js';
import type { ImageInfo, ImageOptions, RenderedImage, ThumbnailSpec } from './image.js';

export interface RenderRequest {
  sourcePath: string;
  outputs: ThumbnailSpec[];
  options: ImageOptions;
}

/** A render, or only loading sharp (the answer is `loaded`). */
export type ImageChildRequest = RenderRequest | { load: true };

type Rendered = { input: ImageInfo; outputs: RenderedImage[] };

export type ImageChildReply =
  | { ok: true; rendered: Rendered }
  | { ok: true; loaded: true }
  /** A `MediaFailure`, with what the decoder said (`cause`) for the log. */
  | { ok: false; failure: { code: MediaFailureCode; message: string; cause?: string } }
  /** sharp does not load in this deployment: no image can render, now or on a retry. */
  | { ok: false; misconfigured: string }
  /** Anything else: the instance's trouble. */
  | { ok: false; error: string };

function childModule(): { path: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(fromSource ? './image-child.ts' : './image-child.js', import.meta.url));
  return { path, execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

/**
 * A renderer left running after a render, for the next one: starting Node and sharp costs more than most renders.
 * At most one waits (FC gives an instance one request at a time; tests may render several at once).
 */
let idle: ChildProcess | undefined;

function takeRenderer(): ChildProcess {
  const waiting = idle;
  idle = undefined;
  if (waiting?.connected) {
    waiting.ref();
    waiting.channel?.ref();
    return waiting;
  }
  const { path, execArgv } = childModule();
  const child = fork(path, [], {
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.once('exit', () => {
    if (idle === child) idle = undefined;
  });
  return child;
}

function keepRenderer(child: ChildProcess): void {
  if (idle || !child.connected) {
    child.kill('SIGKILL');
    return;
  }
  // A waiting renderer must not keep this process alive (a test run, the CLI); it exits when this one does.
  child.unref();
  child.channel?.unref();
  idle = child;
}

function failureOf(answer: Exclude<ImageChildReply, { ok: true }>): Error {
  if ('error' in answer) return new Error(answer.error);
  if ('misconfigured' in answer) return new WorkerMisconfigured(answer.misconfigured);
  const { code, message, cause } = answer.failure;
  return new MediaFailure(code, message, cause ? { cause: new Error(cause) } : undefined);
}

/**
 * Send `request` to a renderer and wait for its answer; at `timeoutMs` the renderer is killed and the request fails
 * with `timedOutFailure()`.
 */
function askRenderer(
  request: ImageChildRequest,
  timeoutMs: number,
  timedOutFailure: () => Error,
): Promise<Extract<ImageChildReply, { ok: true }>> {
  return new Promise((resolve, reject) => {
    const child = takeRenderer();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const settle = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const onMessage = (answer: ImageChildReply) => {
      if (timedOut) return; // killed already: the exit reports it
      settle();
      keepRenderer(child);
      if (answer.ok) resolve(answer);
      else reject(failureOf(answer));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      settle();
      if (timedOut) {
        reject(timedOutFailure());
      } else if (signal) {
        reject(
          new MediaFailure('CorruptMedia', 'the image decoder crashed on the file', {
            cause: new Error(`the image renderer died of ${signal}`),
          }),
        );
      } else {
        reject(new Error(`the image renderer exited with ${code} without an answer`));
      }
    };
    const onError = (error: Error) => {
      settle();
      child.kill('SIGKILL');
      reject(new Error(`the image renderer could not start: ${error.message}`, { cause: error }));
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.on('error', onError);
    child.send(request);
  });
}

/** Render every thumbnail of `outputs` from the image at `sourcePath` in a child process, killed at `timeoutMs`. */
export async function renderThumbnailsIsolated(request: RenderRequest, timeoutMs: number): Promise<Rendered> {
  const answer = await askRenderer(
    request,
    timeoutMs,
    () =>
      new MediaFailure('RenderTimeout', `the image did not render within ${Math.ceil(timeoutMs / 1000)} s`),
  );
  if (!('rendered' in answer)) throw new Error('the image renderer answered a render without images');
  return answer.rendered;
}

/**
 * sharp loads in a renderer, which then waits for the first render; `WorkerMisconfigured` when it does not load (or
 * takes over `timeoutMs`, as no healthy load does).
 */
export async function checkRenderer(timeoutMs: number): Promise<void> {
  await askRenderer(
    { load: true },
    timeoutMs,
    () => new WorkerMisconfigured(`sharp did not load within ${Math.ceil(timeoutMs / 1000)} s`),
  ).catch((error: unknown) => {
    // No file was decoded: a renderer dying of a signal here died loading sharp's native code.
    if (error instanceof MediaFailure) {
      throw new WorkerMisconfigured(`sharp does not load: ${String(error.cause)}`, { cause: error });
    }
    throw error;
  });
}
