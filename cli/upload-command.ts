/**
 * The upload command: arguments, where the token comes from (the dev stack's stack.json, or a deployed token URL
 * and the caller's JWT), what it prints, and one exit code per kind of failure. `cli/upload.ts` runs it.
 */
import { access, constants, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import mime from 'mime';
import { mintDevUserToken } from '../local/dev/dev-auth.js';
import { readDevStackInfo } from '../local/dev/stack-info.js';
import type { CallbackAnswer } from '../shared/callback-contract.js';
import type { MediaManifest } from '../shared/media-manifest.js';
import {
  type FailureStage,
  grantClient,
  presignOutputs,
  requestToken,
  UploadFailure,
  uploadFile,
  waitForManifest,
} from './uploader.js';

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

const MIB = 1024 * 1024;

export const USAGE = `Usage: npm run upload -- <file> [options]

Uploads a file the way an app does: a token for the user, straight to OSS with the callback attached (multipart
above the threshold), then waits for the media manifest and prints the outputs with presigned URLs.

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
  --json                 print one JSON result on stdout
  -h, --help

Exit codes: 0 done; 1 unexpected; 2 usage; 3 token server unreachable or failing; 4 token refused (bad JWT, type
or size not allowed); 5 upload or read refused by OSS; 6 callback failed (203 CallbackFailed: the object is stored);
7 no manifest in time; 8 processing failed.
`;

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

class UsageError extends Error {}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new UsageError(`--${name} must be a positive integer`);
  return parsed;
}

/** Object names stay within `A-Z a-z 0-9 . _ -`, like the form's suggested keys. */
function keySafe(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return safe === '' ? 'upload' : safe;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
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
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

interface TokenSource {
  tokenUrl: string;
  jwt: string;
  /** Shown when the token server cannot be reached. */
  hint: string;
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
  const hint = ' — is `npm run dev` running?';
  if (givenJwt) return { tokenUrl: stack.token.url, jwt: givenJwt, hint };
  const user = values.user ?? stack.devAuth.user;
  const stillValid = Date.parse(stack.devAuth.expiresAt) - Date.now() > 60_000;
  const jwt =
    user === stack.devAuth.user && stillValid
      ? stack.devAuth.jwt
      : (await mintDevUserToken(stack.devAuth.jwtSecret, user)).jwt;
  return { tokenUrl: stack.token.url, jwt, hint };
}

const kib = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < MIB
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / MIB).toFixed(1)} MiB`;

/** Progress on stderr: one updating line on a terminal, a line per 10 % otherwise. */
function progressReporter(io: CliIo, label: string) {
  let lastTenth = -1;
  return (fraction: number) => {
    const percent = Math.floor(fraction * 100);
    if (io.stderr.isTTY) {
      io.stderr.write(`\r${label}: ${percent}%${fraction >= 1 ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor(percent / 10);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    io.stderr.write(`${label}: ${percent}%\n`);
  };
}

function describeOutputs(manifest: MediaManifest, urls: Map<string, string>): string[] {
  return manifest.outputs.map((output) => {
    const duration = output.durationMs === undefined ? '' : ` ${(output.durationMs / 1000).toFixed(1)}s`;
    return `  ${output.role.padEnd(9)} ${`${output.width}x${output.height}`.padEnd(9)} ${kib(output.bytes).padStart(9)}${duration}  ${output.contentType}\n    ${urls.get(output.key) ?? ''}`;
  });
}

interface JobResult {
  kind: CallbackAnswer['jobs'][number]['kind'];
  manifestKey: string;
  manifest: MediaManifest;
  outputs: Array<MediaManifest['outputs'][number] & { url: string }>;
}

/** Run the command; resolves to the exit code (it never throws). */
export async function runUpload(argv: string[], io: CliIo): Promise<number> {
  const say = (line: string) => io.stderr.write(`${line}\n`);
  try {
    const { values, positionals } = parse(argv);
    const { json } = values;
    if (values.help) {
      io.stdout.write(USAGE);
      return EXIT_CODES.ok;
    }
    if (positionals.length !== 1) throw new UsageError('give exactly one file to upload');
    const path = resolve(io.cwd, positionals[0] as string);
    await access(path, constants.R_OK).catch(() => {
      throw new UsageError(`cannot read ${path}`);
    });
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

    const { size } = await stat(path);
    const name = keySafe(values.name ?? basename(path));
    const grant = await requestToken(source.tokenUrl, source.jwt, {
      contentType,
      size,
      fileName: name,
    }).catch((error: unknown) => {
      if (error instanceof UploadFailure && error.stage === 'token-unreachable' && source.hint) {
        throw new UploadFailure(error.stage, `${error.message}${source.hint}`, { cause: error });
      }
      throw error;
    });
    const client = grantClient(grant);
    const key = `${grant.keyPrefix}${name}`;
    const multipart = size > multipartThresholdBytes;
    if (!json)
      say(`Uploading ${basename(path)} (${kib(size)}, ${contentType}) to oss://${grant.bucket}/${key}`);
    const showProgress = multipart || io.stderr.isTTY;
    const { answer } = await uploadFile(client, grant, path, {
      key,
      contentType,
      multipartThresholdBytes,
      partSizeBytes,
      ...(showProgress
        ? { onProgress: progressReporter(io, multipart ? 'Uploaded (multipart)' : 'Uploaded') }
        : {}),
    });
    if (!json) {
      io.stdout.write(`Callback answer:\n${JSON.stringify(answer, null, 2)}\n`);
      if (answer.jobs.length === 0)
        say(`No media job for ${contentType}: the upload is stored, nothing to derive.`);
    }

    const jobs: JobResult[] = [];
    for (const job of answer.jobs) {
      if (!json) say(`Waiting for the ${job.kind} job (${job.manifestKey})…`);
      const manifest = await waitForManifest(client, job.manifestKey, { timeoutMs });
      if (manifest.status !== 'succeeded') {
        throw new UploadFailure(
          'processing-failed',
          `processing ${key} failed: ${manifest.error?.code ?? 'Unknown'}: ${manifest.error?.message ?? ''}`,
        );
      }
      const { urls, expiresAt } = await presignOutputs(client, grant, manifest);
      jobs.push({
        kind: job.kind,
        manifestKey: job.manifestKey,
        manifest,
        outputs: manifest.outputs.map((output) => ({ ...output, url: urls.get(output.key) ?? '' })),
      });
      if (!json) {
        const took = manifest.timings.finishedAt - manifest.timings.startedAt;
        io.stdout.write(
          [
            `Done: ${manifest.kind} processed in ${took} ms (${manifest.source} path, attempt ${manifest.attempt}).`,
            `Outputs (links valid until ${expiresAt.toISOString()}):`,
            ...describeOutputs(manifest, urls),
            '',
          ].join('\n'),
        );
      }
    }
    if (json) {
      io.stdout.write(`${JSON.stringify({ bucket: grant.bucket, key, callback: answer, jobs }, null, 2)}\n`);
    }
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      say(`upload: ${error.message} (see npm run upload -- --help)`);
      return EXIT_CODES.usage;
    }
    if (error instanceof UploadFailure) {
      say(`upload failed: ${error.message}`);
      return EXIT_CODES[error.stage];
    }
    say(`upload failed unexpectedly: ${(error as Error).stack ?? String(error)}`);
    return EXIT_CODES.unexpected;
  }
}
