/** An npm script of this repository run as a user runs it: a child process whose output and exit the test reads. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';

export interface NpmScriptRun {
  child: ChildProcess;
  /** Everything the script has printed to stdout so far. */
  readonly stdout: string;
  /** Everything the script has printed to stderr so far. */
  readonly stderr: string;
  /** The exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Resolves once stdout contains `line`; rejects if the script exits first or is not ready in `timeoutMs`. */
  ready(line: string, timeoutMs?: number): Promise<void>;
  /**
   * SIGKILL the script and everything it started (npm, tsx, node and their tools: one process group), if it is still
   * running — for afterEach, when a test failed before stopping it, and for tests of a killed stack.
   */
  kill(): void;
}

/** `npm run <args…>` from the repository root, as the README says, with exactly `env`, stdout and stderr captured. */
export function startNpmScript(args: string[], env: NodeJS.ProcessEnv): NpmScriptRun {
  const child = spawn('npm', ['run', ...args], {
    cwd: join(import.meta.dirname, '..', '..'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: npm runs tsx, which runs node, so killing npm alone would leave the script running.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    ready(line, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        if (stdout.includes(line)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`not ready in ${timeoutMs / 1000} s; stdout: ${stdout} stderr: ${stderr}`)),
          timeoutMs,
        );
        child.stdout?.on('data', () => {
          if (stdout.includes(line)) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`exited early with ${code}; stderr: ${stderr}`));
        });
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(-child.pid, 'SIGKILL');
      }
    },
  };
}

export interface NpmScriptSandbox {
  /** A fresh directory for the describe block, removed after it. */
  readonly dir: string;
  /** startNpmScript, killed after the test if the test did not stop it. */
  start(args: string[], env: NodeJS.ProcessEnv): NpmScriptRun;
}

/** Call inside a describe block: registers the hooks that give it a temp dir and clean up its scripts. */
export function npmScriptSandbox(): NpmScriptSandbox {
  let dir: string | undefined;
  const runs: NpmScriptRun[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'upcall-'));
  });
  afterEach(() => {
    for (const run of runs.splice(0)) run.kill();
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      if (!dir) throw new Error('npmScriptSandbox: dir is set in beforeAll');
      return dir;
    },
    start(args, env) {
      const run = startNpmScript(args, env);
      runs.push(run);
      return run;
    },
  };
}
