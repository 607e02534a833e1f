/**
 * Finding and running ffmpeg and ffprobe. A binary is looked for in a fixed order — the explicit setting, the static
 * builds `npm run build` ships beside the bundle (`bin/`, what runs on FC), a layer's `/opt/bin`, `PATH`, then the
 * npm installer packages — so the deployed worker runs exactly the binaries it was tested with, whatever the
 * runtime image holds, and the same code runs on a laptop with ffmpeg installed and in tests right after `npm ci`.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';

export type MediaTool = 'ffmpeg' | 'ffprobe';

export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
}

/**
 * The build's `bin/` beside the bundle (`dist/media/index.js` → `dist/media/bin`). Only a bundle has one: running
 * from source (ESM, no `__filename`), there is none to look in.
 */
const SHIPPED_BIN = typeof __filename === 'string' ? join(dirname(__filename), 'bin') : undefined;
/** Where a layer's binaries are (`/opt/bin`), for a deployment that attaches its own ffmpeg layer. */
const LAYER_BIN = '/opt/bin';
const SETTING_OF: Record<MediaTool, string> = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' };

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The npm-shipped binary; these packages throw at import on platforms they do not ship. */
async function npmBinary(tool: MediaTool): Promise<string> {
  const module: { default?: { path?: string }; path?: string } =
    tool === 'ffmpeg' ? await import('@ffmpeg-installer/ffmpeg') : await import('@ffprobe-installer/ffprobe');
  const path = module.default?.path ?? module.path;
  if (!path) throw new Error(`the npm package for ${tool} did not name a binary`);
  return path;
}

/** Resolve one tool. An explicit path must work (a typo should not silently fall back to another binary). */
export async function locateTool(tool: MediaTool, explicit: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (explicit !== '') {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`${SETTING_OF[tool]} ${JSON.stringify(explicit)} is not an executable file`);
  }
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, tool));
  const shipped = SHIPPED_BIN === undefined ? [] : [join(SHIPPED_BIN, tool)];
  for (const candidate of [...shipped, join(LAYER_BIN, tool), ...onPath]) {
    if (await isExecutable(candidate)) return candidate;
  }
  try {
    return await npmBinary(tool);
  } catch (error) {
    throw new Error(
      `no ${tool} found: deploy the output of \`npm run build\` (it ships bin/${tool}), set ${SETTING_OF[tool]}, or install it on PATH (${String(error)})`,
      { cause: error },
    );
  }
}

export async function locateMediaTools(
  explicit: { ffmpeg: string; ffprobe: string },
  env: NodeJS.ProcessEnv,
): Promise<MediaTools> {
  const [ffmpeg, ffprobe] = await Promise.all([
    locateTool('ffmpeg', explicit.ffmpeg, env),
    locateTool('ffprobe', explicit.ffprobe, env),
  ]);
  return { ffmpeg, ffprobe };
}

/** The last bytes of stderr are where ffmpeg says what went wrong; the rest is kept out of memory and logs. */
const STDERR_TAIL_BYTES = 4096;
const MAX_STDOUT_BYTES = 4 * 1024 * 1024;

export class ToolError extends Error {
  override name = 'ToolError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly timedOut: boolean,
    readonly stderrTail: string,
    /** The signal that ended it (a crash, or our SIGKILL at the timeout); null when it exited or never started. */
    readonly signal: NodeJS.Signals | null = null,
  ) {
    super(message);
  }
}

/** Run a tool to completion with a hard timeout (SIGKILL); resolves with stdout, rejects with a `ToolError`. */
export function runTool(
  binary: string,
  args: string[],
  options: { timeoutMs: number; captureStdout?: boolean },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ['ignore', options.captureStdout ? 'pipe' : 'ignore', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = Buffer.alloc(0);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes <= MAX_STDOUT_BYTES) stdout.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > STDERR_TAIL_BYTES) stderr = stderr.subarray(stderr.length - STDERR_TAIL_BYTES);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new ToolError(`${binary} could not start: ${error.message}`, null, false, ''));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = stderr.toString('utf8').trim();
      if (code === 0 && !timedOut) {
        resolve(Buffer.concat(stdout).toString('utf8'));
        return;
      }
      const why = timedOut
        ? `timed out after ${Math.round(options.timeoutMs / 1000)} s`
        : `exited with ${code ?? signal}`;
      reject(
        new ToolError(`${binary.split('/').pop()} ${why}: ${lastLines(tail)}`, code, timedOut, tail, signal),
      );
    });
  });
}

/** The last few lines of a tool's stderr, for error messages (the full tail stays on the error for logs). */
function lastLines(text: string, lines = 3): string {
  return text.split('\n').slice(-lines).join(' | ') || '(no output)';
}
