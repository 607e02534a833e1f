/**
 * What the client commands share (`npm run upload`, `npm run smoke`): their I/O, argument parsing with messages that
 * say what to type, the retry policy for a person waiting at a terminal, and one exit code per kind of failure.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { UploadErrorCode } from '../client/node.js';

type FailureStage =
  | 'unexpected'
  | 'token-unreachable'
  | 'token-refused'
  | 'upload'
  | 'callback'
  | 'manifest-timeout'
  | 'processing-failed';

export const EXIT_CODES: Record<'ok' | 'usage' | FailureStage, number> = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  'token-unreachable': 3,
  'token-refused': 4,
  upload: 5,
  callback: 6,
  'manifest-timeout': 7,
  'processing-failed': 8,
};

/** The library's error codes → the commands' exit codes (documented in README "The upload CLI"). */
export const EXIT_BY_CODE: Record<UploadErrorCode, number> = {
  TokenUnavailable: EXIT_CODES['token-unreachable'],
  TokenRefused: EXIT_CODES['token-refused'],
  OssRefused: EXIT_CODES.upload,
  NetworkFailed: EXIT_CODES.upload,
  CallbackRefused: EXIT_CODES.callback,
  TimedOut: EXIT_CODES['manifest-timeout'],
  ProcessingFailed: EXIT_CODES['processing-failed'],
  InvalidFile: EXIT_CODES.usage,
  Aborted: EXIT_CODES.unexpected,
};

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Bad arguments: the command prints the message with a pointer to its --help and exits with EXIT_CODES.usage. */
export class UsageError extends Error {}

/**
 * A person at a terminal waits for retries: fewer and shorter than the library's defaults (worst case ~4 s before
 * "cannot reach"), still enough to ride out a dropped connection.
 */
export const CLI_RETRY = { retries: 4, baseDelayMs: 250, maxDelayMs: 4000 };

export function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new UsageError(`--${name} must be a positive integer`);
  return parsed;
}

/** parseArgs (strict, with positionals); its own messages quote unevenly and speak of its internals: these say what to type. */
export function parseCommandLine<const T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const option = /'(-[^' <]+)/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) throw new UsageError(`unknown option ${option}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
      throw new UsageError(
        message.includes('does not take')
          ? `${option} takes no value`
          : `${option} needs a value, as in ${option} VALUE`,
      );
    }
    throw new UsageError(message);
  }
}

/** Run `command` with this process's arguments and I/O, then exit with its code. */
export async function runAsProcess(command: (argv: string[], io: CliIo) => Promise<number>): Promise<never> {
  const code = await command(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });
  // Explicitly: Node's global agent keeps idle sockets open for a while, which would hold the process after the work
  // is done.
  process.exit(code);
}
