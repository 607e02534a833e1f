/**
 * The packaging `s deploy` uploads (`npm run build`): each function s.yaml names is built into its own directory,
 * loads in a clean Node process from a copy of that directory alone (no repo, no node_modules above it), and exports
 * the handler s.yaml names. Media carries sharp's linux-x64 glibc binaries — pinned by package-lock.json — and its
 * own static ffmpeg and ffprobe, with which a copy of it alone, in a clean environment, processes real media; the
 * HTTP functions carry nothing but their bundle.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunctions, type FunctionReport, runtimeClosure, summaryLine } from '../../scripts/build.js';
import type { MediaJob } from '../../shared/media-job.js';
import type { MediaManifest } from '../../shared/media-manifest.js';
import {
  BUCKET,
  type MediaCloud,
  startMediaCloud,
  TICKET_KEYS,
  uploadForJob,
  workerConfig,
} from '../helpers/media-cloud.js';
import { DEPLOY_ENV, previewSYaml, REPO_ROOT, type RenderedSYaml } from '../helpers/serverless-devs.js';

const run = promisify(execFile);
/** The HTTP functions' bundle budget (BENCHMARKS.md, cold start): what FC loads before the first request. */
const HTTP_BUNDLE_BUDGET_BYTES = 1_500_000;

/**
 * Loads a function directory in a fresh process with an empty environment (no NODE_PATH, no settings), then reports
 * its exports, every loaded file outside the directory, and — for HTTP functions — what the handler answers.
 */
const LOADER = `
const { join } = require('node:path');
const [dir, file, exportName, http] = process.argv.slice(1);
const loaded = require(join(dir, file));
const outside = Object.keys(require.cache).filter((path) => !path.startsWith(dir + '/'));
const report = { exports: Object.keys(loaded), type: typeof loaded[exportName], outside };
const event = Buffer.from(JSON.stringify({ version: 'v1', rawPath: '/', headers: {}, queryParameters: {},
  body: '', isBase64Encoded: false, requestContext: { requestId: 'r-1', http: { method: 'POST', path: '/' } } }));
(http === 'true' ? loaded[exportName](event, { requestId: 'r-1' }) : Promise.resolve(undefined)).then((answer) => {
  if (answer) report.answer = { statusCode: answer.statusCode, body: JSON.parse(Buffer.from(answer.body, 'base64')) };
  // On lines of its own: pino may write the start-up log line before or after it.
  process.stdout.write('\\n' + JSON.stringify(report) + '\\n');
});
`;

/** Uses the copy of sharp shipped in the media directory to make and re-read a real PNG. */
const SHARP_CHECK = `
const { createRequire } = require('node:module');
const [dir] = process.argv.slice(1);
const requireFromFunction = createRequire(dir + '/index.js');
const sharpPath = requireFromFunction.resolve('sharp');
const sharp = requireFromFunction('sharp');
sharp({ create: { width: 8, height: 6, channels: 3, background: '#336699' } }).png().toBuffer()
  .then((png) => sharp(png).metadata())
  .then(({ format, width, height }) => process.stdout.write(JSON.stringify({ sharpPath, format, width, height,
    outside: Object.keys(require.cache).filter((path) => !path.startsWith(dir + '/')) })));
`;

/** Runs `script` in a clean environment: its report (a line of stdout), and the JSON log lines around it. */
async function runIsolated(
  script: string,
  args: string[],
  cwd: string,
  logLevel = 'silent',
): Promise<Record<string, unknown> & { log: string[] }> {
  const { stdout } = await run(process.execPath, ['-e', script, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', UPCALL_LOG_LEVEL: logLevel },
    timeout: 30_000,
  });
  const lines = stdout.split('\n').filter(Boolean);
  const log = lines.filter((line) => line.startsWith('{"level":'));
  const report = lines.find((line) => !log.includes(line)) ?? '{}';
  return { ...(JSON.parse(report) as Record<string, unknown>), log };
}

describe('npm run build', () => {
  let outRoot: string;
  let isolated: string;
  let reports: FunctionReport[];
  let sYaml: RenderedSYaml;
  const report = (name: string) => {
    const found = reports.find((r) => r.name === name);
    if (!found) throw new Error(`no build report for ${name}`);
    return found;
  };

  beforeAll(async () => {
    outRoot = await mkdtemp(join(tmpdir(), 'upcall-'));
    isolated = await mkdtemp(join(tmpdir(), 'upcall-'));
    const [built, preview] = await Promise.all([buildFunctions(outRoot), previewSYaml(DEPLOY_ENV)]);
    reports = built;
    if (!preview.ok) throw new Error(preview.output);
    sYaml = preview.rendered;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([outRoot, isolated].map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("loads each function s.yaml deploys from a copy of its directory alone, exporting s.yaml's handler", async () => {
    for (const [name, { props }] of Object.entries(sYaml.resources)) {
      // s.yaml's `code: ./dist/<name>` is the build's `<outRoot>/<name>`; `handler: index.handler` is file.export.
      const built = join(outRoot, props.code.replace(/^\.\/dist\//, ''));
      const [file, exportName] = props.handler.split('.');
      const dir = join(isolated, name);
      await cp(built, dir, { recursive: true });
      const isHttp = (props.triggers ?? []).some((t) => t.triggerType === 'http');
      const loaded = await runIsolated(
        LOADER,
        [dir, `${file}.js`, exportName!, String(isHttp)],
        dir,
        'fatal',
      );
      expect(loaded.type, name).toBe('function');
      expect(loaded.outside, `${name} loaded files from outside its directory`).toEqual([]);
      if (isHttp) {
        // It runs through FC's event adapter into config validation: no settings → ConfigInvalid, the log naming
        // them (the caller is not told which).
        expect(loaded.answer).toMatchObject({ statusCode: 500, body: { error: { code: 'ConfigInvalid' } } });
        expect(JSON.stringify(loaded.answer)).not.toContain('UPCALL_BUCKET');
        expect(loaded.log.join('\n')).toContain('UPCALL_BUCKET');
      }
    }
  });

  it("ships media's sharp for linux-x64 glibc at package-lock.json's versions, and it works from there", async () => {
    const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    const media = report('media');
    expect(media.shipped['node_modules/sharp']).toBe(lock.packages['node_modules/sharp']?.version);
    // HEIC decoding (functions/media/heic.ts): libheif in WebAssembly, loaded from the package beside the bundle.
    expect(media.shipped['node_modules/libheif-js']).toBe(lock.packages['node_modules/libheif-js']?.version);
    expect(Object.keys(media.shipped)).toEqual(
      expect.arrayContaining([
        'node_modules/@img/sharp-linux-x64',
        'node_modules/@img/sharp-libvips-linux-x64',
      ]),
    );
    const dir = join(outRoot, 'media');
    const platform = JSON.parse(
      await readFile(join(dir, 'node_modules/@img/sharp-linux-x64/package.json'), 'utf8'),
    ) as { os: string[]; cpu: string[]; libc: string[] };
    expect(platform).toMatchObject({ os: ['linux'], cpu: ['x64'], libc: ['glibc'] });
    // Only the target's binaries; ffmpeg is in bin/, not as the installer packages.
    const img = await readdir(join(dir, 'node_modules/@img'));
    expect(img.filter((name) => name.startsWith('sharp-')).sort()).toEqual([
      'sharp-libvips-linux-x64',
      'sharp-linux-x64',
    ]);
    expect(await readdir(join(dir, 'node_modules'))).not.toContain('@ffmpeg-installer');

    const copy = join(isolated, 'media-sharp');
    await cp(dir, copy, { recursive: true });
    const result = await runIsolated(SHARP_CHECK, [copy], copy);
    expect(result).toMatchObject({ format: 'png', width: 8, height: 6, outside: [] });
    expect(String(result.sharpPath).startsWith(`${copy}/node_modules/sharp/`)).toBe(true);
  });

  it("ships ffmpeg and ffprobe in media's bin/ at the lock's versions, executable, with the GPL notice", async () => {
    const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    const { tools } = report('media');
    expect(tools.ffmpeg?.version).toBe(lock.packages['node_modules/@ffmpeg-installer/linux-x64']?.version);
    expect(tools.ffprobe?.version).toBe(lock.packages['node_modules/@ffprobe-installer/linux-x64']?.version);
    const bin = join(outRoot, 'media', 'bin');
    for (const tool of ['ffmpeg', 'ffprobe']) {
      expect((await stat(join(bin, tool))).mode & 0o777, tool).toBe(0o755);
    }
    expect(await readFile(join(bin, 'NOTICE.md'), 'utf8')).toMatch(/GNU General\s+Public License, version 3/);
    // The size is printed, raw and zipped; the zip is what FC's code-package limit (100 MB in most regions) counts.
    expect(summaryLine(report('media'), outRoot)).toMatch(/zipped \d+\.\d\d MiB.*bin: ffmpeg .*ffprobe /);
    expect(report('media').zippedBytes).toBeLessThan(100_000_000);
  });

  describe('a copy of dist/media alone, run with `env -i` (no PATH, no system ffmpeg)', () => {
    let media: MediaCloud;
    let copy: string;
    beforeAll(async () => {
      media = await startMediaCloud();
      copy = join(isolated, 'media-clean-env');
      await cp(join(outRoot, 'media'), copy, { recursive: true });
    });
    afterAll(() => media.close());

    const cleanEnv = (extra: Record<string, string> = {}) =>
      Object.entries(extra).map(([name, value]) => `${name}=${value}`);

    /** The package in `dir` runs `jobs` one after another in a clean environment, as FC would invoke it. */
    async function runJobs(
      dir: string,
      jobs: MediaJob[],
      logLevel = 'silent',
    ): Promise<{ results: Array<{ outcome: string; manifestKey: string }>; log: string[] }> {
      const settings = cleanEnv({
        UPCALL_BUCKET: BUCKET,
        UPCALL_REGION: media.cloud.info.region,
        UPCALL_OSS_ENDPOINT: media.cloud.info.oss.endpoint,
        UPCALL_FC_ENDPOINT: media.cloud.info.fc.endpoint,
        UPCALL_TICKET_KEYS: TICKET_KEYS,
        UPCALL_LOG_LEVEL: logLevel,
      });
      const script = `
        const [dir, jobs, credentials] = process.argv.slice(1);
        const { handler } = require(dir + '/index.js');
        (async () => {
          const results = [];
          for (const job of JSON.parse(jobs)) {
            results.push(await handler(Buffer.from(JSON.stringify(job)), { requestId: 'r-' + results.length, credentials: JSON.parse(credentials) }));
          }
          process.stdout.write('\\n' + JSON.stringify(results) + '\\n');
        })();`;
      const { stdout } = await run(
        '/usr/bin/env',
        [
          '-i',
          ...settings,
          process.execPath,
          '-e',
          script,
          dir,
          JSON.stringify(jobs),
          JSON.stringify(media.cloud.info.rootCredentials),
        ],
        { cwd: dir, timeout: 90_000 },
      );
      const lines = stdout.split('\n').filter(Boolean);
      const log = lines.filter((line) => line.startsWith('{"level":'));
      const results = lines.find((line) => !log.includes(line)) ?? '[]';
      return { results: JSON.parse(results) as Array<{ outcome: string; manifestKey: string }>, log };
    }

    /** A tool of the build, run with an empty environment: nothing of the system's PATH or libraries. */
    const shipped = (tool: 'ffmpeg' | 'ffprobe', args: string[]) =>
      run('/usr/bin/env', ['-i', join(copy, 'bin', tool), ...args]);

    /** A one-second HEVC clip (as phones record), made by the shipped ffmpeg itself: nothing needs a system one. */
    let clip: Promise<Buffer> | undefined;
    const hevcClip = () => {
      clip ??= (async () => {
        const scratch = await mkdtemp(join(tmpdir(), 'upcall-'));
        const clipPath = join(scratch, 'clip.mp4');
        await shipped('ffmpeg', [
          ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
          ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15:duration=1'],
          ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1'],
          ...['-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1'],
          ...['-c:a', 'aac', '-shortest', clipPath],
        ]);
        const bytes = await readFile(clipPath);
        await rm(scratch, { recursive: true, force: true });
        return bytes;
      })();
      return clip;
    };

    it('has libx264, the AAC encoder and an HEVC decoder', async () => {
      const { stdout: encoders } = await shipped('ffmpeg', ['-hide_banner', '-encoders']);
      expect(encoders).toMatch(/^ V\S* libx264 /m);
      expect(encoders).toMatch(/^ A\S* aac /m);
      const { stdout: decoders } = await shipped('ffmpeg', ['-hide_banner', '-decoders']);
      expect(decoders).toMatch(/^ V\S* hevc /m);
      const { stdout: probe } = await shipped('ffprobe', ['-version']);
      expect(probe).toMatch(/^ffprobe version /);
    });

    it('transcodes an HEVC clip and makes thumbnails of an image', async () => {
      const sharp = (await import('sharp')).default;
      const image = await sharp({ create: { width: 120, height: 90, channels: 3, background: '#c04020' } })
        .jpeg()
        .toBuffer();
      const config = workerConfig();
      const jobs = [
        await uploadForJob(media, 'uploads/u1/clip.mp4', await hevcClip(), 'video/mp4', config),
        await uploadForJob(media, 'uploads/u1/photo.jpg', image, 'image/jpeg', config),
      ];
      const { results } = await runJobs(copy, jobs);
      expect(results.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
      const manifests = await Promise.all(
        results.map(
          async (r) =>
            JSON.parse((await media.oss.get(r.manifestKey)).content.toString('utf8')) as MediaManifest,
        ),
      );
      const [video, photo] = manifests;
      expect(video?.status).toBe('succeeded');
      expect(JSON.stringify(video?.outputs)).toContain('video.mp4');
      expect(photo?.status).toBe('succeeded');
      expect(JSON.stringify(photo?.outputs)).toContain('thumb-');
    }, 120_000);

    it.each([
      ['broken (its native addon is not a library)', 'broken'],
      ['missing (left out of the package)', 'missing'],
    ] as const)(
      'with sharp %s, an image job and a video job (sharp thumbnails its poster) end at once in WorkerMisconfigured manifests',
      async (_what, how) => {
        const broken = join(isolated, `media-sharp-${how}`);
        await cp(join(outRoot, 'media'), broken, { recursive: true });
        if (how === 'broken') {
          const lib = join(broken, 'node_modules/@img/sharp-linux-x64/lib');
          for (const addon of await readdir(lib)) await writeFile(join(lib, addon), 'not an ELF file');
        } else {
          await rm(join(broken, 'node_modules/sharp'), { recursive: true });
        }
        const png = await (await import('sharp'))
          .default({ create: { width: 8, height: 8, channels: 3, background: '#208040' } })
          .png()
          .toBuffer();
        const jobs = [
          await uploadForJob(media, `uploads/u1/sharp-${how}.png`, png, 'image/png', workerConfig()),
          await uploadForJob(
            media,
            `uploads/u1/sharp-${how}.mp4`,
            await hevcClip(),
            'video/mp4',
            workerConfig(),
          ),
        ];
        const { results, log } = await runJobs(broken, jobs, 'error');
        // Results, not throws: FC records success and retries nothing.
        expect(results).toMatchObject([{ outcome: 'failed' }, { outcome: 'failed' }]);
        for (const result of results) {
          const manifest = JSON.parse(
            (await media.oss.get(result.manifestKey)).content.toString('utf8'),
          ) as MediaManifest;
          expect(manifest).toMatchObject({ status: 'failed', attempt: 1, outputs: [] });
          expect(manifest.error?.code).toBe('WorkerMisconfigured');
        }
        // One error line per job, naming what is broken.
        expect(log).toHaveLength(2);
        for (const line of log) expect(line).toContain('sharp does not load');
        await rm(broken, { recursive: true, force: true });
      },
      60_000,
    );
  });

  it('keeps the HTTP functions to their bundle, each under 1.5 MB', () => {
    for (const name of ['token', 'callback']) {
      const built = report(name);
      expect(built.shipped, name).toEqual({});
      // index.js and the package.json that marks the directory CommonJS; source maps stay out of the upload.
      expect(built.files, name).toBe(2);
      expect(built.bundleBytes, name).toBeLessThan(HTTP_BUNDLE_BUDGET_BYTES);
    }
  });
});

describe('runtimeClosure', () => {
  const lock = {
    packages: {
      'node_modules/sharp': {
        version: '1.0.0',
        dependencies: { semver: '^7', 'detect-libc': '^2' },
        optionalDependencies: {
          '@img/sharp-linux-x64': '1.0.0',
          '@img/sharp-libvips-linux-x64': '1.2.0',
          '@img/sharp-darwin-arm64': '1.0.0',
          '@img/sharp-libvips-darwin-arm64': '1.2.0',
        },
      },
      'node_modules/sharp/node_modules/semver': { version: '7.9.0' },
      'node_modules/semver': { version: '6.3.1' },
      'node_modules/detect-libc': { version: '2.1.2' },
      'node_modules/@img/sharp-linux-x64': {
        version: '1.0.0',
        optionalDependencies: { '@img/sharp-libvips-linux-x64': '1.2.0' },
      },
      'node_modules/@img/sharp-libvips-linux-x64': { version: '1.2.0' },
      'node_modules/@img/sharp-darwin-arm64': { version: '1.0.0' },
      'node_modules/@img/sharp-libvips-darwin-arm64': { version: '1.2.0' },
    },
  };

  it('resolves like Node (nested first) and keeps only the target platform’s optional packages', () => {
    expect(Object.fromEntries(runtimeClosure(lock, ['sharp']))).toEqual({
      'node_modules/sharp': '1.0.0',
      'node_modules/sharp/node_modules/semver': '7.9.0',
      'node_modules/detect-libc': '2.1.2',
      'node_modules/@img/sharp-linux-x64': '1.0.0',
      'node_modules/@img/sharp-libvips-linux-x64': '1.2.0',
    });
  });

  it('fails naming a package the lock does not hold', () => {
    const broken = { packages: { ...lock.packages, 'node_modules/detect-libc': undefined } };
    expect(() => runtimeClosure(broken as unknown as typeof lock, ['sharp'])).toThrow(/detect-libc/);
  });
});
