/**
 * The upload command: arguments, where the token comes from (the dev stack's stack.json, or a deployed token URL
 * and the caller's JWT), what it prints, and one exit code per kind of failure. The upload itself is the client
 * library's (`client/node.ts`), as in any app; `cli/upload.ts` runs the command.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import mime from 'mime';
import {
  createPathUpload,
  fileCheckpoints,
  type JobOutputs,
  UploadError,
  type UploadProgress,
} from '../client/node.js';
import { mintDevUserToken } from '../local/dev/dev-auth.js';
import { readDevStackInfo } from '../local/dev/stack-info.js';
import {
  CLI_RETRY,
  type CliIo,
  EXIT_BY_CODE,
  EXIT_CODES,
  parseCommandLine,
  positiveInteger,
  UsageError,
} from './common.js';

const MIB = 1024 * 1024;

export const USAGE = `Usage: npm run upload -- <file> [options]

Uploads a file the way an app does, with upcall's client library: a token for the user, straight to OSS with the
callback attached (in parts above the threshold, resumed if a run was interrupted), then waits for the media
manifest and prints the outputs with presigned URLs.

Where the token comes from:
  (default)              the dev stack: <UPCALL_LOCAL_DATA_DIR or .local>/stack.json, signed in as --user
  --stack FILE           another dev stack's stack.json
  --user NAME            dev stack only: the user to sign in as (default: the stack's dev user)
  --token-url URL        a deployed token function (env UPCALL_TOKEN_URL); needs --jwt
  --jwt JWT              the caller's JWT (env UPCALL_USER_JWT)

Upload:
  --content-type TYPE    default: from the file name
  --name NAME            object name under your key prefix (default: the file's name)
  --multipart-threshold BYTES   default ${8 * MIB} (8 MiB)
  --part-size BYTES      default ${MIB} (1 MiB)
  --timeout SECONDS      how long to wait for the manifest (default 120)
  --json                 print one JSON result on stdout (nothing else goes there)
  -h, --help

Exit codes: 0 done; 1 unexpected; 2 usage; 3 token server unreachable or failing; 4 token refused (bad JWT, type
or size not allowed); 5 upload or read refused by OSS, or OSS unreachable; 6 callback failed (203 CallbackFailed:
the object is stored); 7 no manifest in time; 8 processing failed.
`;

/** Object names stay within `A-Z a-z 0-9 . _ -`, like the form's suggested keys. */
function keySafe(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return safe === '' ? 'upload' : safe;
}

const OPTIONS = {
  user: { type: 'string' },
  stack: { type: 'string' },
  'token-url': { type: 'string' },
  jwt: { type: 'string' },
  'content-type': { type: 'string' },
  name: { type: 'string' },
  'multipart-threshold': { type: 'string' },
  'part-size': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const parse = (argv: string[]) => parseCommandLine(argv, OPTIONS);

/** Why a file cannot be read, in words. */
const UNREADABLE: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

async function readableFile(path: string): Promise<number> {
  try {
    await access(path, constants.R_OK);
    const info = await stat(path);
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    return info.size;
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    throw new UsageError(`cannot read ${path}: ${UNREADABLE[code] ?? (error as Error).message}`);
  }
}

interface TokenSource {
  tokenUrl: string;
  jwt: string;
  /** Added to "cannot reach the token endpoint". */
  hint: string;
  /** Where interrupted multipart uploads are remembered (undefined: the library's default, ~/.upcall). */
  checkpointDir?: string;
}

async function tokenSource(values: ReturnType<typeof parse>['values'], io: CliIo): Promise<TokenSource> {
  const tokenUrl = values['token-url'] ?? io.env.UPCALL_TOKEN_URL?.trim();
  const givenJwt = values.jwt ?? io.env.UPCALL_USER_JWT?.trim();
  if (tokenUrl) {
    if (values.user !== undefined) {
      throw new UsageError(
        '--user signs in with the dev stack’s secret; with --token-url, your JWT names the user',
      );
    }
    if (!givenJwt) throw new UsageError('--token-url needs the caller’s JWT: --jwt or UPCALL_USER_JWT');
    return { tokenUrl, jwt: givenJwt, hint: '' };
  }
  const stackFile = resolve(
    io.cwd,
    values.stack ?? `${io.env.UPCALL_LOCAL_DATA_DIR?.trim() || '.local'}/stack.json`,
  );
  let stack: ReturnType<typeof readDevStackInfo>;
  try {
    stack = readDevStackInfo(stackFile);
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (or point at a deployment with --token-url and --jwt)`);
  }
  // The dev stack's uploads live and die with its data dir; so do their checkpoints.
  const local = {
    hint: ' — is `npm run dev` running?',
    checkpointDir: resolve(dirname(stackFile), 'checkpoints'),
  };
  if (givenJwt) return { tokenUrl: stack.token.url, jwt: givenJwt, ...local };
  const user = values.user ?? stack.devAuth.user;
  const stillValid = Date.parse(stack.devAuth.expiresAt) - Date.now() > 60_000;
  const jwt =
    user === stack.devAuth.user && stillValid
      ? stack.devAuth.jwt
      : (await mintDevUserToken(stack.devAuth.jwtSecret, user)).jwt;
  return { tokenUrl: stack.token.url, jwt, ...local };
}

const size = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < MIB
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / MIB).toFixed(1)} MiB`;

/**
 * Progress on stderr: on a terminal one updating line with the rate and time left, otherwise a line per 10 % (a log
 * stays short).
 */
function progressReporter(io: CliIo, label: string) {
  let lastTenth = -1;
  return ({ fraction, bytesPerSecond, etaSeconds }: UploadProgress) => {
    const percent = Math.floor(fraction * 100);
    if (io.stderr.isTTY) {
      const rate = bytesPerSecond > 0 ? `  ${size(bytesPerSecond)}/s` : '';
      const eta = etaSeconds !== null && fraction < 1 ? `, ${Math.ceil(etaSeconds)} s left` : '';
      io.stderr.write(`\r\x1b[K${label}: ${percent}%${rate}${eta}${fraction >= 1 ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor(percent / 10);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    io.stderr.write(`${label}: ${percent}%\n`);
  };
}

function describeOutputs(job: JobOutputs): string[] {
  return job.outputs.map((output) => {
    const duration = output.durationMs === undefined ? '' : ` ${(output.durationMs / 1000).toFixed(1)}s`;
    return `  ${output.role.padEnd(9)} ${`${output.width}x${output.height}`.padEnd(9)} ${size(output.bytes).padStart(9)}${duration}  ${output.contentType}\n    ${output.url}`;
  });
}

/** Run the command; resolves to the exit code (it never throws). */
export async function runUpload(argv: string[], io: CliIo): Promise<number> {
  const say = (line: string) => io.stderr.write(`${line}\n`);
  let hint = '';
  try {
    const { values, positionals } = parse(argv);
    const { json } = values;
    if (values.help) {
      io.stdout.write(USAGE);
      return EXIT_CODES.ok;
    }
    if (positionals.length !== 1) throw new UsageError('give exactly one file to upload');
    const path = resolve(io.cwd, positionals[0] as string);
    const bytes = await readableFile(path);
    const contentType = values['content-type'] ?? mime.getType(path);
    if (!contentType) {
      throw new UsageError(`cannot tell the content type of ${basename(path)}: give --content-type`);
    }
    const timeoutMs = positiveInteger('timeout', values.timeout, 120) * 1000;
    const multipartThresholdBytes = positiveInteger(
      'multipart-threshold',
      values['multipart-threshold'],
      8 * MIB,
    );
    const partSizeBytes = positiveInteger('part-size', values['part-size'], MIB);
    const source = await tokenSource(values, io);
    hint = source.hint;
    if (json && io.env.npm_lifecycle_event === 'upload' && io.env.npm_config_loglevel !== 'silent') {
      say(
        'note: npm printed its banner on stdout before this JSON (its loglevel is not silent); `npm run -s upload -- …` leaves it out',
      );
    }

    const objectName = keySafe(values.name ?? basename(path));
    const multipart = bytes > multipartThresholdBytes;
    if (!json) say(`Uploading ${basename(path)} (${size(bytes)}, ${contentType})`);
    const upload = await createPathUpload(path, {
      tokenUrl: source.tokenUrl,
      authorization: () => `Bearer ${source.jwt}`,
      contentType,
      objectName,
      multipartThresholdBytes,
      partSizeBytes,
      retry: CLI_RETRY,
      ...(source.checkpointDir ? { checkpoints: fileCheckpoints(source.checkpointDir) } : {}),
      waitForOutputs: { timeoutMs },
      ...(multipart || io.stderr.isTTY
        ? { onProgress: progressReporter(io, multipart ? 'Uploaded (multipart)' : 'Uploaded') }
        : {}),
      onAnswer: (answer, key) => {
        if (json) return;
        io.stdout.write(`Callback answer:\n${JSON.stringify(answer, null, 2)}\n`);
        if (answer.jobs.length === 0)
          say(`No media job for ${contentType}: ${key} is stored, nothing to derive.`);
        for (const job of answer.jobs) say(`Waiting for the ${job.kind} job (${job.manifestKey})…`);
      },
    });
    const result = await upload.done;
    if (!json && result.resumedBytes > 0) {
      say(`Resumed an interrupted upload: OSS already had ${size(result.resumedBytes)} of it.`);
    }
    const jobs = result.jobs ?? [];
    if (json) {
      const { bucket, key, answer } = result;
      io.stdout.write(`${JSON.stringify({ bucket, key, callback: answer, jobs }, null, 2)}\n`);
      return EXIT_CODES.ok;
    }
    for (const job of jobs) {
      const { manifest } = job;
      const took = manifest.timings.finishedAt - manifest.timings.startedAt;
      io.stdout.write(
        [
          `Done: ${manifest.kind} processed in ${took} ms (${manifest.source} path, attempt ${manifest.attempt}).`,
          `Outputs (links valid until ${job.urlsExpireAt}):`,
          ...describeOutputs(job),
          '',
        ].join('\n'),
      );
    }
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      say(`upload: ${error.message} (see npm run upload -- --help)`);
      return EXIT_CODES.usage;
    }
    if (error instanceof UploadError) {
      const unreachable = error.code === 'TokenUnavailable' && error.detail.status === undefined;
      say(`upload failed: ${error.message}${unreachable ? hint : ''}`);
      return EXIT_BY_CODE[error.code];
    }
    say(`upload failed unexpectedly: ${(error as Error).stack ?? String(error)}`);
    return EXIT_CODES.unexpected;
  }
}
