/**
 * End to end with the client commands: the dev stack (token and callback over HTTP, media in the local FC with its
 * OSS trigger) driven by `npm run upload` — as a child process once, in-process otherwise — with real generated
 * media, and by `npm run smoke` as a child process, passing and stopping at a refused grant. Every case checks what
 * landed in OSS and what the manifest says, not just the exit code.
 */
import { stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../cli/common.js';
import { runUpload } from '../../cli/upload-command.js';
import { createMediaHandler } from '../../functions/media/app.js';
import { loadMediaConfig } from '../../functions/media/config.js';
import type { CallbackAnswer } from '../../shared/callback-contract.js';
import { type MediaManifest, SOURCE_ETAG_HEADER } from '../../shared/media-manifest.js';
import { useE2eStack } from '../helpers/dev-stack.js';
import { generateVideo } from '../helpers/media.js';
import { startNpmScript } from '../helpers/npm-script.js';
import { readJson } from '../helpers/oss-clients.js';

const e2e = useE2eStack();

interface JsonResult {
  bucket: string;
  key: string;
  callback: CallbackAnswer;
  jobs: Array<{ manifestKey: string; manifest: MediaManifest; outputs: Array<{ key: string; url: string }> }>;
}

async function png(name: string, width: number, height: number, noise = false): Promise<string> {
  const path = join(e2e.dataDir, name);
  const image = sharp({
    create: {
      width,
      height,
      channels: 3,
      background: { r: 40, g: 120, b: 200 },
      ...(noise ? { noise: { type: 'gaussian' as const, mean: 128, sigma: 60 } } : {}),
    },
  });
  await writeFile(path, await image.png().toBuffer());
  return path;
}

/** Fetch a presigned URL and check it is the image the manifest describes. */
async function fetchImage(url: string) {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { contentType: response.headers.get('content-type'), metadata: await sharp(bytes).metadata() };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('npm run upload against the dev stack', () => {
  it('`npm run upload -- FILE --json` as a child process: only JSON on stdout, thumbnails in OSS, URLs that work', async () => {
    const file = await png('sunset.png', 320, 200);
    // Exactly as the README says (no -s): the project's .npmrc keeps npm's banner off stdout.
    const { npm_config_loglevel: _inherited, ...parentEnv } = process.env;
    const upload = startNpmScript(['upload', '--', file, '--user', 'alice', '--json'], {
      ...parentEnv,
      UPCALL_LOCAL_DATA_DIR: e2e.dataDir,
      UPCALL_TOKEN_URL: '',
      UPCALL_USER_JWT: '',
    });
    const code = await upload.exited;
    expect(code, upload.stderr).toBe(0);

    const result = JSON.parse(upload.stdout) as JsonResult;
    expect(result.key).toBe('uploads/alice/sunset.png');
    expect(result.callback).toMatchObject({
      status: 'accepted',
      userId: 'alice',
      object: { key: result.key, contentType: 'image/png', claimedImage: { width: 320, height: 200 } },
    });
    const [job] = result.jobs;
    expect(job?.manifest).toMatchObject({ status: 'succeeded', kind: 'image', key: result.key });
    const stored = await e2e.root.head(result.key);
    const etag = String((stored.res.headers as Record<string, string>).etag).replaceAll('"', '');
    expect(job?.manifest.etag).toBe(etag);
    expect(job?.manifestKey).toBe(`derived/${result.key}/${etag}/manifest.json`);

    const thumbnails = job?.manifest.outputs ?? [];
    expect(thumbnails.map((o) => [o.width, o.height])).toEqual([
      [160, 100],
      [64, 40],
    ]);
    for (const output of job?.outputs ?? []) {
      const described = thumbnails.find((o) => o.key === output.key);
      const fetched = await fetchImage(output.url);
      expect(fetched.contentType).toBe('image/webp');
      expect([fetched.metadata.width, fetched.metadata.height]).toEqual([
        described?.width,
        described?.height,
      ]);
      const head = await e2e.root.head(output.key);
      expect((head.res.headers as Record<string, string>)[SOURCE_ETAG_HEADER]).toBe(etag);
    }
  });

  it('uploads a video: transcode, poster and poster thumbnails, printed for a person', async () => {
    const file = join(e2e.dataDir, 'clip.mp4');
    await generateVideo(file, { width: 160, height: 120, seconds: 1 });
    const run = await e2e.upload([file, '--user', 'alice']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Callback answer:');
    expect(run.stdout).toMatch(/Done: video processed in \d+ ms/);
    expect(run.stderr).toContain('Uploading clip.mp4');
    // Not multipart, not a terminal: no progress lines.
    expect(run.stderr).not.toContain('%');

    const answer = JSON.parse(
      run.stdout.slice(run.stdout.indexOf('{'), run.stdout.indexOf('\nDone:')),
    ) as CallbackAnswer;
    const manifest = await readJson<MediaManifest>(e2e.root, answer.jobs[0]?.manifestKey ?? '');
    expect(manifest).toMatchObject({ status: 'succeeded', kind: 'video', input: { videoCodec: 'h264' } });
    const transcode = manifest.outputs.find((o) => o.role === 'transcode');
    expect(transcode).toMatchObject({ contentType: 'video/mp4', height: 120 });
    expect(transcode?.durationMs).toBeGreaterThan(800);
    expect(manifest.outputs.filter((o) => o.role === 'poster')).toHaveLength(1);
    const videoUrl =
      run.stdout
        .split('\n')
        .find((line) => line.includes('/video.mp4?'))
        ?.trim() ?? '';
    const response = await fetch(videoUrl, { headers: { range: 'bytes=0-7' } });
    expect(response.status).toBe(206);
    expect(Buffer.from(await response.arrayBuffer()).toString('latin1', 4, 8)).toBe('ftyp');
  });

  it('goes multipart above the threshold, reports progress, and the callback rides on the completion', async () => {
    const file = await png('noise.png', 500, 400, true);
    const run = await e2e.upload([
      file,
      '--user',
      'bob',
      '--json',
      '--multipart-threshold',
      String(256 * 1024),
      '--part-size',
      String(100 * 1024),
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as JsonResult;
    expect(result.callback.object.etag).toMatch(/^[0-9A-F]{32}-[3-9]$/);
    expect(run.stderr).toContain('Uploaded (multipart): 100%');
    expect(run.stderr.match(/Uploaded \(multipart\)/g)?.length).toBeGreaterThan(2);
    const manifest = await readJson<MediaManifest>(e2e.root, result.jobs[0]?.manifestKey ?? '');
    expect(manifest).toMatchObject({
      status: 'succeeded',
      etag: result.callback.object.etag,
      size: (await stat(file)).size,
    });
    expect(manifest.outputs.map((o) => [o.width, o.height])).toEqual([
      [160, 128],
      [64, 51],
    ]);
  });

  it('says what failed, with its own exit code', async () => {
    const image = await png('small.png', 40, 30);
    const down = await e2e.upload([
      image,
      '--token-url',
      `http://127.0.0.1:${await closedPort()}/`,
      '--jwt',
      'x',
    ]);
    expect(down.code).toBe(EXIT_CODES['token-unreachable']);
    expect(down.stderr).toMatch(
      /cannot reach the token endpoint at http:\/\/127\.0\.0\.1:\d+\/ \(ECONNREFUSED\)\n$/,
    );

    const badJwt = await e2e.upload([image, '--jwt', 'not.a.jwt']);
    expect(badJwt.code).toBe(EXIT_CODES['token-refused']);
    expect(badJwt.stderr).toContain('401 TokenInvalid');

    const expired = await e2e.upload([image], { UPCALL_USER_JWT: await e2e.stack.userToken('alice', -60) });
    expect(expired.code).toBe(EXIT_CODES['token-refused']);
    expect(expired.stderr).toContain('401 TokenExpired');

    const text = join(e2e.dataDir, 'notes.txt');
    await writeFile(text, 'hello');
    const refusedType = await e2e.upload([text]);
    expect(refusedType.code).toBe(EXIT_CODES['token-refused']);
    expect(refusedType.stderr).toContain('400 ContentTypeNotAllowed');

    const missing = await e2e.upload([join(e2e.dataDir, 'nope.png')]);
    expect(missing.code).toBe(EXIT_CODES.usage);
    expect(missing.stderr).toContain('cannot read');
    const deployedUser = await e2e.upload([image, '--token-url', 'http://127.0.0.1:1/', '--user', 'x']);
    expect(deployedUser.code).toBe(EXIT_CODES.usage);
  });

  it('words its usage errors plainly: unknown options, missing values, why a file cannot be read', async () => {
    const image = await png('words.png', 20, 20);
    const unknown = await e2e.upload([image, '--colour']);
    expect(unknown.code).toBe(EXIT_CODES.usage);
    expect(unknown.stderr).toBe('upload: unknown option --colour (see npm run upload -- --help)\n');
    const noValue = await e2e.upload([image, '--user']);
    expect(noValue.stderr).toContain('upload: --user needs a value, as in --user VALUE');
    const flagValue = await e2e.upload([image, '--json=yes']);
    expect(flagValue.stderr).toContain('upload: --json takes no value');
    const missing = await e2e.upload([join(e2e.dataDir, 'nope.png')]);
    expect(missing.stderr).toContain(`cannot read ${join(e2e.dataDir, 'nope.png')}: no such file`);
    const directory = await e2e.upload([e2e.dataDir]);
    expect(directory.code).toBe(EXIT_CODES.usage);
    expect(directory.stderr).toContain(`cannot read ${e2e.dataDir}: it is a directory`);
  });

  it('shows a single upload’s progress on a terminal, and says how to keep npm’s banner off --json', async () => {
    let stderr = '';
    let stdout = '';
    const terminal = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          stderr += chunk.toString();
          done();
        },
      }),
      { isTTY: true },
    );
    const code = await runUpload([await png('tty.png', 64, 64, true), '--user', 'erin', '--json'], {
      stdout: new Writable({
        write(chunk: Buffer, _encoding, done) {
          stdout += chunk.toString();
          done();
        },
      }),
      stderr: terminal,
      // As `npm run upload` (not -s) runs it: npm has already printed its banner on stdout.
      env: {
        UPCALL_LOCAL_DATA_DIR: e2e.dataDir,
        npm_lifecycle_event: 'upload',
        npm_config_loglevel: 'notice',
      },
      cwd: e2e.dataDir,
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('npm run -s upload -- …');
    // One line rewritten in place (carriage return, erase line), ended once the upload is done.
    expect(stderr).toContain('\r\u001b[KUploaded: 100%');
    expect(stderr.trimEnd().split('\n').at(-1)).toContain('Uploaded: 100%');
    expect((JSON.parse(stdout) as JsonResult).key).toBe('uploads/erin/tty.png');
  });

  it('fails with "processing failed" on a corrupt image, after the manifest says so', async () => {
    const corrupt = join(e2e.dataDir, 'corrupt.png');
    await writeFile(corrupt, 'this is not a png');
    const run = await e2e.upload([corrupt, '--user', 'carol']);
    expect(run.code).toBe(EXIT_CODES['processing-failed']);
    expect(run.stderr).toContain('UnsupportedMedia');
    const answer = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as CallbackAnswer;
    const manifest = await readJson<MediaManifest>(e2e.root, answer.jobs[0]?.manifestKey ?? '');
    expect(manifest).toMatchObject({ status: 'failed', error: { code: 'UnsupportedMedia' }, outputs: [] });
  });

  it('times out waiting for the manifest while the media worker is held, then the job still finishes', async () => {
    const { fc } = e2e.stack.cloud;
    const name = loadMediaConfig(e2e.stack.env).mediaFunctions.image;
    const media = createMediaHandler(e2e.stack.env);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    fc.register(
      name,
      async (event, context) => {
        await held;
        return media(event, context);
      },
      { roleArn: e2e.stack.info.roles.media, maxAsyncRetryAttempts: 3 },
    );
    try {
      const run = await e2e.upload([await png('later.png', 48, 48), '--user', 'dave', '--timeout', '1']);
      expect(run.code).toBe(EXIT_CODES['manifest-timeout']);
      expect(run.stderr).toMatch(
        /no manifest at derived\/uploads\/dave\/later\.png\/[0-9A-F]{32}\/manifest\.json after 1 s/,
      );
      const answer = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as CallbackAnswer;
      release();
      await fc.idle();
      const manifest = await readJson<MediaManifest>(e2e.root, answer.jobs[0]?.manifestKey ?? '');
      expect(manifest.status).toBe('succeeded');
    } finally {
      release();
      fc.register(name, media, { roleArn: e2e.stack.info.roles.media, maxAsyncRetryAttempts: 3 });
    }
  });
});

interface SmokeResult {
  ok: boolean;
  steps: Array<{ step: string; ok: boolean; ms: number }>;
  uploads?: Array<{ kind: string; key: string; manifestKey: string; outputs: number }>;
  failedStep?: string;
  error?: { code: string; status?: number; message: string };
}

/** `npm run smoke` as README "Deploy" runs it after a deploy: a child process, pointed at the dev stack's token function. */
describe('npm run smoke against the dev stack', () => {
  const { npm_config_loglevel: _inherited, ...parentEnv } = process.env;
  const env = { ...parentEnv, UPCALL_TOKEN_URL: '', UPCALL_USER_JWT: '' };
  const smoke = (jwt: string, ...more: string[]) =>
    startNpmScript(['smoke', '--', '--token-url', e2e.stack.info.token.url, '--jwt', jwt, ...more], env);

  it('uploads an image and a clip through the token function and finds both manifests succeeded (--json)', async () => {
    const run = smoke(e2e.stack.info.devAuth.jwt, '--json', '--timeout-seconds', '120');
    expect(await run.exited, run.stderr).toBe(EXIT_CODES.ok);
    const result = JSON.parse(run.stdout) as SmokeResult;
    expect(result.ok).toBe(true);
    expect(result.steps.map((step) => [step.step, step.ok])).toEqual([
      ['make media', true],
      ['grant image', true],
      ['upload image', true],
      ['manifest image', true],
      ['grant video', true],
      ['upload video', true],
      ['manifest video', true],
    ]);
    expect(result.uploads?.map((each) => each.kind)).toEqual(['image', 'video']);
    for (const uploaded of result.uploads ?? []) {
      expect(uploaded.key.startsWith(`uploads/${e2e.stack.info.devAuth.user}/`), uploaded.key).toBe(true);
      const manifest = await readJson<MediaManifest>(e2e.root, uploaded.manifestKey);
      expect(manifest).toMatchObject({ status: 'succeeded', kind: uploaded.kind, key: uploaded.key });
      expect(manifest.outputs.length).toBe(uploaded.outputs);
      expect(uploaded.outputs).toBeGreaterThan(0);
    }
    const roles = (
      await readJson<MediaManifest>(e2e.root, result.uploads?.[1]?.manifestKey ?? '')
    ).outputs.map((output) => output.role);
    expect(roles).toContain('transcode');
  });

  it('stops at the first grant with a JWT the token function refuses, naming the step, with a non-zero exit', async () => {
    const run = smoke('not.a-valid.jwt');
    const code = await run.exited;
    expect(code).toBe(EXIT_CODES['token-refused']);
    expect(run.stderr).toMatch(/^smoke failed at step "grant image": HTTP 401 TokenRefused: /m);
    expect(run.stdout).toMatch(/^ok {2}\s+make media\s/m);
    expect(run.stdout).toMatch(/^FAIL\s+grant image\s/m);
    expect(run.stdout).not.toContain('upload image');
  });
});
