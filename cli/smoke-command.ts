/**
 * The post-deploy smoke test: through a deployed token function, upload a small image (made with sharp) and a
 * one-second clip (cli/fixtures/smoke-clip.mp4, 6 KB: ffmpeg's testsrc and a 440 Hz sine, H.264/AAC 160x120) with
 * the client library, as an app does, and wait for both media manifests. Each upload is three steps — grant (the
 * token function), upload (OSS, then the callback function's answer), manifest (the media function) — timed and
 * printed one line each; the first that fails is named, and the exit code is `npm run upload`'s for that failure.
 * `cli/smoke.ts` runs the command.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { type JobOutputs, nodeTransport, UploadError, type UploadSource, upload } from '../client/node.js';
import * as cli from './common.js';

export const SMOKE_USAGE = `Usage: npm run smoke -- --token-url URL --jwt JWT [options]

After a deploy: uploads a small image and a one-second clip through the deployed token function with upcall's
client library, as an app does, and waits for both media manifests. Prints one line per step (grant, upload,
manifest — for the image, then the clip) and names the first step that fails.

  --token-url URL        the deployed token function (env UPCALL_TOKEN_URL)
  --jwt JWT              a JWT the token function accepts, for a test user (env UPCALL_USER_JWT)
  --timeout-seconds N    how long to wait for each manifest (default 300: a cold media function, then the job)
  --json                 print one JSON result on stdout (nothing else goes there)
  -h, --help

Exit codes: 0 passed; 1 unexpected; 2 usage; 3 token server unreachable or failing; 4 token refused; 5 upload
refused by OSS, or OSS unreachable; 6 callback failed, or it queued no media job; 7 no manifest in time;
8 processing failed.
`;

const OPTIONS = {
  'token-url': { type: 'string' },
  jwt: { type: 'string' },
  'timeout-seconds': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const CLIP = new URL('./fixtures/smoke-clip.mp4', import.meta.url);

/** A failure the library does not report itself: the callback accepted the upload but queued no job of its kind. */
class NoMediaJob extends Error {}

interface StepResult {
  step: string;
  ok: boolean;
  ms: number;
}

interface Uploaded {
  kind: JobOutputs['kind'];
  key: string;
  manifestKey: string;
  outputs: number;
}

/** The running step, timed; `next` closes it as passed and opens the next. */
class Steps {
  readonly done: StepResult[] = [];
  current = '';
  private startedAt = 0;

  constructor(private readonly say: (line: string) => void) {}

  next(step: string) {
    if (this.current) this.close(true);
    this.current = step;
    this.startedAt = performance.now();
  }

  close(ok: boolean) {
    const result = { step: this.current, ok, ms: Math.round(performance.now() - this.startedAt) };
    this.done.push(result);
    this.say(`${ok ? 'ok  ' : 'FAIL'}  ${result.step.padEnd(15)} ${(result.ms / 1000).toFixed(2)} s`);
    this.current = '';
  }
}

async function smokeImage(): Promise<UploadSource & Blob> {
  // A gradient rather than a flat colour: the image pipeline gets real pixels to scale.
  const width = 320;
  const height = 240;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    pixels.set([(i % width) % 256, Math.floor(i / width) % 256, 128], i * 3);
  }
  const png = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return Object.assign(new Blob([png], { type: 'image/png' }), { name: 'smoke.png' });
}

async function smokeClip(): Promise<UploadSource & Blob> {
  return Object.assign(new Blob([await readFile(CLIP)], { type: 'video/mp4' }), { name: 'smoke.mp4' });
}

/** Upload `source` as `kind` and wait for its manifest, stepping `steps` through grant, upload and manifest. */
async function uploadAndWait(
  kind: JobOutputs['kind'],
  source: UploadSource & Blob,
  options: { tokenUrl: string; jwt: string; timeoutMs: number },
  steps: Steps,
): Promise<Uploaded> {
  steps.next(`grant ${kind}`);
  const result = await upload(source, {
    tokenUrl: options.tokenUrl,
    authorization: () => `Bearer ${options.jwt}`,
    retry: cli.CLI_RETRY,
    // A smoke test never resumes: every run uploads afresh (under a new key, so a new job runs).
    checkpoints: false,
    // Grants come over fetch, OSS requests through the transport: the first OSS request ends the grant step.
    transport: (request) => {
      if (steps.current === `grant ${kind}`) steps.next(`upload ${kind}`);
      return nodeTransport(request);
    },
    onAnswer: (answer) => {
      if (answer.jobs.some((job) => job.kind === kind)) steps.next(`manifest ${kind}`);
    },
    waitForOutputs: { timeoutMs: options.timeoutMs },
  });
  const job = result.jobs?.find((each) => each.kind === kind);
  if (!job) {
    throw new NoMediaJob(
      `the callback accepted ${result.key} but queued no ${kind} job (its answer: ${JSON.stringify(result.answer.jobs)})`,
    );
  }
  steps.close(true);
  return { kind, key: result.key, manifestKey: job.manifestKey, outputs: job.outputs.length };
}

function describeFailure(error: unknown): { code: string; message: string; status?: number; exit: number } {
  if (error instanceof UploadError) {
    const { status } = error.detail;
    return {
      code: error.code,
      message: `${status ? `HTTP ${status} ` : ''}${error.code}: ${error.message}`,
      ...(status ? { status } : {}),
      exit: cli.EXIT_BY_CODE[error.code],
    };
  }
  if (error instanceof NoMediaJob) {
    return { code: 'NoMediaJob', message: error.message, exit: cli.EXIT_CODES.callback };
  }
  return {
    code: 'Unexpected',
    message: (error as Error).stack ?? String(error),
    exit: cli.EXIT_CODES.unexpected,
  };
}

/** Run the smoke test; resolves to the exit code (it never throws). */
export async function runSmoke(argv: string[], io: cli.CliIo): Promise<number> {
  let json = false;
  try {
    const { values, positionals } = cli.parseCommandLine(argv, OPTIONS);
    json = values.json;
    if (values.help) {
      io.stdout.write(SMOKE_USAGE);
      return cli.EXIT_CODES.ok;
    }
    if (positionals.length > 0) throw new cli.UsageError(`unexpected argument ${positionals[0]}`);
    const tokenUrl = values['token-url'] ?? io.env.UPCALL_TOKEN_URL?.trim();
    const jwt = values.jwt ?? io.env.UPCALL_USER_JWT?.trim();
    if (!tokenUrl)
      throw new cli.UsageError('give the deployed token function: --token-url URL or UPCALL_TOKEN_URL');
    if (!jwt) throw new cli.UsageError('give a JWT the token function accepts: --jwt JWT or UPCALL_USER_JWT');
    const timeoutMs = cli.positiveInteger('timeout-seconds', values['timeout-seconds'], 300) * 1000;
    const options = { tokenUrl, jwt, timeoutMs };

    const steps = new Steps((line) => {
      if (!json) io.stdout.write(`${line}\n`);
    });
    const uploads: Uploaded[] = [];
    try {
      steps.next('make media');
      const [image, clip] = [await smokeImage(), await smokeClip()];
      uploads.push(await uploadAndWait('image', image, options, steps));
      uploads.push(await uploadAndWait('video', clip, options, steps));
    } catch (error) {
      const failedStep = steps.current;
      steps.close(false);
      const failure = describeFailure(error);
      io.stderr.write(`smoke failed at step "${failedStep}": ${failure.message}\n`);
      if (json) {
        const { exit: _exit, ...reported } = failure;
        io.stdout.write(
          `${JSON.stringify({ ok: false, failedStep, error: reported, steps: steps.done }, null, 2)}\n`,
        );
      }
      return failure.exit;
    }
    if (json) {
      io.stdout.write(`${JSON.stringify({ ok: true, steps: steps.done, uploads }, null, 2)}\n`);
    } else {
      const total = steps.done.reduce((sum, step) => sum + step.ms, 0);
      const outputs = uploads.map((each) => `${each.kind} (${each.outputs} outputs)`).join(' and ');
      io.stdout.write(`smoke passed: ${outputs} processed in ${(total / 1000).toFixed(1)} s\n`);
    }
    return cli.EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof cli.UsageError) {
      io.stderr.write(`smoke: ${error.message} (see npm run smoke -- --help)\n`);
      return cli.EXIT_CODES.usage;
    }
    io.stderr.write(`smoke failed unexpectedly: ${(error as Error).stack ?? String(error)}\n`);
    return cli.EXIT_CODES.unexpected;
  }
}
