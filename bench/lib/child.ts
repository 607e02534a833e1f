/**
 * Benchmark child processes: each piece under measurement (servers, the load generator, a pipeline run) gets its own
 * Node process, optionally pinned to CPUs with `taskset`, speaking to the orchestrator over Node's IPC channel. The
 * child sends one `{ ready }` or `{ result }` message (or `{ error }`); stdout is discarded, so the JSON logs the
 * servers write cost what they cost in production and nothing more.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildOptions {
  /** `taskset -c` list, e.g. `'0'`; absent: not pinned. */
  cpus?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra `node` flags (before the script). */
  nodeArgs?: string[];
}

export interface BenchChild<Ready> {
  process: ChildProcess;
  ready: Ready;
  /** Send a message to the child and wait for its next message. */
  ask<T>(message: unknown): Promise<T>;
  stop(): Promise<void>;
}

type ChildMessage = { ready?: unknown; result?: unknown; error?: string };

/** Absolute path of a module next to `base` (an `import.meta.url`). */
export function beside(base: string, file: string): string {
  return fileURLToPath(new URL(file, base));
}

function nextMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      cleanup();
      if (message.error !== undefined) reject(new Error(`${what}: ${message.error}`));
      else resolve((message.ready ?? message.result) as T);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(new Error(`${what} exited (${code ?? signal}) before answering`));
    };
    const onError = (error: NodeJS.ErrnoException) => {
      cleanup();
      const missing = error.code === 'ENOENT' && child.spawnfile === 'taskset';
      // Pinning is what these figures are about: no silent unpinned run.
      reject(missing ? new Error(`${what}: taskset not found (Debian: apt-get install util-linux)`) : error);
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.on('error', onError);
  });
}

/** Every child started and not yet exited: what `stopAllChildren` ends when a bench fails half-way. */
const running = new Set<ChildProcess>();

/**
 * Stop every child still running. The runner calls it whatever happened: a bench that fails after starting some of
 * its children (one did not start, a measurement threw) would otherwise leave the rest running, and their IPC channels
 * keep the runner itself from exiting.
 */
export async function stopAllChildren(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** Start a TypeScript child (through tsx) and wait for its first message. */
export async function startChild<Ready>(
  script: string,
  args: string[] = [],
  options: ChildOptions = {},
): Promise<BenchChild<Ready>> {
  const node = [process.execPath, ...(options.nodeArgs ?? []), '--import', 'tsx', script, ...args];
  const [command, ...rest] = options.cpus ? ['taskset', '-c', options.cpus, ...node] : node;
  const child = spawn(command as string, rest, {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...options.env },
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const ready = await nextMessage<Ready>(child, script);
  return {
    process: child,
    ready,
    ask<T>(message: unknown) {
      const answer = nextMessage<T>(child, script);
      child.send(message as object);
      return answer;
    },
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

/** Run a child to completion and return its one result. */
export async function runChild<Result>(
  script: string,
  args: string[] = [],
  options: ChildOptions = {},
): Promise<Result> {
  const child = await startChild<Result>(script, args, options);
  await child.stop();
  return child.ready;
}

/** In a child: report readiness or a result to the orchestrator. */
export function reply(message: ChildMessage): void {
  if (!process.send) throw new Error('not started by the benchmark runner (no IPC channel)');
  process.send(message);
}

/** In a child: run `main`, sending its value as `{ result }`, or its failure as `{ error }`, then exit. */
export function runAsChild(main: () => Promise<unknown>): void {
  main().then(
    (result) => {
      reply({ result });
      process.disconnect?.();
    },
    (error: unknown) => {
      reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.disconnect?.();
      process.exitCode = 1;
    },
  );
}

/** In a child: answer each message from the orchestrator with `handle`'s value. */
export function serveRequests(handle: (message: unknown) => Promise<unknown>): void {
  process.on('message', (message) => {
    handle(message).then(
      (result) => reply({ result }),
      (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
    );
  });
}
