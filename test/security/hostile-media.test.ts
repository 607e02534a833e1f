/**
 * The media worker against an uploader with an ordinary account, who controls the bytes and the declared content
 * type of what they upload, and can read the manifest of their own upload. One describe per capability; each case is
 * an attempted attack and the refusal expected. Jobs run through the real worker core, ali-oss and the local OSS,
 * with real ffmpeg/ffprobe (Debian's, the build in which the playlist SSRF was first reproduced) and sharp.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MediaWorkerConfig } from '../../functions/media/config.js';
import type { MediaTools } from '../../functions/media/ffmpeg.js';
import type { MediaWorkerDeps } from '../../functions/media/job.js';
import { renderVideo } from '../../functions/media/video.js';
import {
  failureOf,
  fakeTool,
  frameBombGif,
  generateVideo,
  jpegWithOrientation6,
  testTools,
  videoOptions,
} from '../helpers/media.js';
import {
  storedManifest,
  uploadForJob,
  uploadPhoto,
  useMediaJobs,
  workerConfig,
} from '../helpers/media-cloud.js';

const jobs = useMediaJobs('hostile-media-test');
/** A listener on loopback standing for every address inside the function's network. */
let internal: Server;
let connections = 0;
let internalUrl: string;

beforeAll(async () => {
  internal = createServer((_request, response) => {
    response.end('#EXTM3U\n');
  });
  internal.on('connection', () => {
    connections += 1;
  });
  internal.listen(0, '127.0.0.1');
  await once(internal, 'listening');
  internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}`;
});
afterAll(async () => {
  internal.close();
});
beforeEach(() => {
  connections = 0;
});

/** Nothing in a manifest the uploader reads may point into the worker: URLs, endpoints, credentials, paths. */
function expectNothingInternal(text: string) {
  const { endpoint } = jobs.media.cloud.info.oss;
  const { accessKeyId } = jobs.media.cloud.info.rootCredentials;
  for (const secret of [
    endpoint,
    new URL(endpoint).host,
    internalUrl,
    accessKeyId,
    jobs.scratchDir,
    tmpdir(),
  ]) {
    expect(text).not.toContain(secret);
  }
  expect(text).not.toMatch(/https?:|x-oss-|Signature|security-token|Credential=/i);
}

/** Upload, run the job once, and return its (failed) manifest, which must be free of anything internal. */
async function refused(
  key: string,
  body: Buffer,
  contentType: string,
  overrides: Partial<MediaWorkerDeps> = {},
) {
  const job = await uploadForJob(jobs.media, key, body, contentType);
  const result = await jobs.run(job, overrides);
  expect(result).toMatchObject({ outcome: 'failed', attempt: 1 });
  const { manifest, text } = await storedManifest(jobs.media, job);
  expect(manifest).toMatchObject({ status: 'failed', outputs: [], attempt: 1 });
  expectNothingInternal(text);
  return manifest;
}

describe('an uploader who stores a playlist or a reference file as a video (SSRF)', () => {
  it('an HLS playlist naming internal segments and keys is refused unread: no request leaves', async () => {
    const playlist = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:1',
      `#EXT-X-KEY:METHOD=AES-128,URI="${internalUrl}/hls-key"`,
      '#EXTINF:1.0,',
      `${internalUrl}/hls-segment-0.ts`,
      '#EXT-X-ENDLIST',
      '',
    ].join('\n');
    const manifest = await refused('uploads/u1/movie.m3u8', Buffer.from(playlist), 'video/mp4');
    expect(manifest.error).toEqual({
      code: 'UnsupportedMedia',
      message: 'the file is an HLS playlist, not a video upcall processes',
    });
    expect(connections).toBe(0);
  });

  it('an ffmpeg concat list and a DASH manifest are refused unread', async () => {
    const concat = `ffconcat version 1.0\nfile '${internalUrl}/part.mp4'\nfile 'tcp://127.0.0.1:22'\n`;
    expect((await refused('uploads/u1/concat.mp4', Buffer.from(concat), 'video/mp4')).error?.code).toBe(
      'UnsupportedMedia',
    );
    const dash = `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><BaseURL>${internalUrl}/</BaseURL></MPD>`;
    expect((await refused('uploads/u1/stream.mpd', Buffer.from(dash), 'video/webm')).error?.code).toBe(
      'UnsupportedMedia',
    );
    expect(connections).toBe(0);
  });

  it('a playlist behind an MP4 header is read as MP4 only: it fails, and no request leaves', async () => {
    const ftyp = Buffer.alloc(24);
    ftyp.writeUInt32BE(24, 0);
    ftyp.write('ftypisom\0\0\0\0isommp41', 4, 'latin1');
    const body = Buffer.concat([ftyp, Buffer.from(`\n#EXTM3U\n#EXTINF:1,\n${internalUrl}/seg.ts\n`)]);
    const manifest = await refused('uploads/u1/dressed.mp4', body, 'video/mp4');
    expect(manifest.error?.code).toBe('UnsupportedMedia');
    expect(connections).toBe(0);
  });

  it('even if ffmpeg were told the file is HLS, the file-only protocol whitelist blocks every fetch', async () => {
    const path = join(jobs.scratchDir, 'forced.m3u8');
    await writeFile(
      path,
      `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n${internalUrl}/seg.ts\n#EXT-X-ENDLIST\n`,
    );
    const workDir = await mkdtemp(join(jobs.scratchDir, 'work-'));
    const failure = await failureOf(
      renderVideo(path, await videoOptions(workDir, { maxLines: 144, format: 'hls' })),
    );
    expect(failure.code).toBe('UnsupportedMedia');
    expect(connections).toBe(0);
  });
});

describe('an uploader who lies about the content type', () => {
  it('an image declared as a video, and a video declared as an image, are refused as a mismatch', async () => {
    const photo = await refused('uploads/u2/photo.mp4', await jpegWithOrientation6(), 'video/mp4');
    expect(photo.error).toEqual({
      code: 'ContentMismatch',
      message: 'the file is a jpeg image, but was uploaded as video/mp4',
    });
    const path = join(jobs.scratchDir, 'clip.mp4');
    await generateVideo(path, { width: 64, height: 48, seconds: 1, audio: false });
    const clip = await refused('uploads/u2/clip.png', await readFile(path), 'image/png');
    expect(clip.error).toEqual({
      code: 'ContentMismatch',
      message: 'the file is a MP4/QuickTime video, but was uploaded as image/png',
    });
  });

  it('an HTML page declared as SVG is refused before any decoder sees it', async () => {
    const page = `<html><body><img src="${internalUrl}/pixel.png"></body></html>`;
    const manifest = await refused('uploads/u2/page.svg', Buffer.from(page), 'image/svg+xml');
    expect(manifest.error?.code).toBe('UnsupportedMedia');
    expect(connections).toBe(0);
  });
});

describe('an uploader who crafts a file that crashes the tools', () => {
  let fakeDir: string;
  beforeAll(async () => {
    fakeDir = await mkdtemp(join(jobs.scratchDir, 'fake-tools-'));
  });

  /** A stand-in for ffprobe that behaves as it would on the crafted bytes. */
  async function fakeProbe(name: string, script: string): Promise<() => Promise<MediaTools>> {
    const path = await fakeTool(fakeDir, name, script);
    const real = await testTools();
    return async () => ({ ...real, ffprobe: path });
  }

  it.each([
    {
      name: 'a crash of ffprobe on the bytes is a failed manifest on the first attempt, not retries',
      file: 'crash',
      script: () => 'kill -SEGV $$',
      message: 'ffprobe could not read the file as video (it crashed: SIGSEGV)',
    },
    {
      name: 'what the tool prints (paths, URLs, the endpoint) never reaches the manifest',
      file: 'chatty',
      script: (endpoint: string) =>
        `echo "${endpoint}/bucket/key?x-oss-signature=abc&security-token=xyz: Server returned 403 Forbidden $0" >&2; exit 1`,
      message: 'ffprobe could not read the file as video',
    },
  ])('$name', async ({ file, script, message }) => {
    const tools = await fakeProbe(`ffprobe-${file}`, script(jobs.media.cloud.info.oss.endpoint));
    const path = join(jobs.scratchDir, `${file}.mp4`);
    await generateVideo(path, { width: 64, height: 48, seconds: 1, audio: false });
    const manifest = await refused(`uploads/u3/${file}.mp4`, await readFile(path), 'video/mp4', { tools });
    expect(manifest.error).toEqual({ code: 'UnsupportedMedia', message });
  });
});

describe('an uploader who sends more bytes than the limit', () => {
  it('a video over UPCALL_VIDEO_MAX_BYTES is refused before anything reads it', async () => {
    const job = await uploadForJob(jobs.media, 'uploads/u4/big.mp4', Buffer.alloc(4096, 1), 'video/mp4');
    const result = await jobs.run(
      job,
      {},
      workerConfig({ video: { ...workerConfig().video, maxBytes: 4095 } }),
    );
    expect(result).toMatchObject({ outcome: 'failed', attempt: 1 });
    const { manifest, text } = await storedManifest(jobs.media, job);
    expect(manifest.error).toEqual({
      code: 'InputTooLarge',
      message: 'the video is over the limit of 4095 bytes',
    });
    expectNothingInternal(text);
  });
});

describe('an uploader who makes the worker work without end', () => {
  let bomb: Buffer;
  beforeAll(async () => {
    bomb = await frameBombGif(jobs.scratchDir, 100_000);
  });
  const imageLimits = (overrides: Partial<MediaWorkerConfig['image']>) =>
    workerConfig({ image: { ...workerConfig().image, maxFrames: 1000, ...overrides } });

  it('a 100,000-frame GIF (2.5 MB, 0.4 MP) is refused from its header by the frame limit', async () => {
    const job = await uploadForJob(jobs.media, 'uploads/u5/frames.gif', bomb, 'image/gif');
    const started = Date.now();
    expect(await jobs.run(job, {}, imageLimits({}))).toMatchObject({ outcome: 'failed', attempt: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
    const { manifest, text } = await storedManifest(jobs.media, job);
    expect(manifest.error).toEqual({
      code: 'TooManyFrames',
      message: 'the animation has 100000 frames, over the limit of 1000',
    });
    expectNothingInternal(text);
  });

  it('within the frame limit, a slow animation is killed at the render deadline; the next job starts at once', async () => {
    // 20,000 frames of 32×32: within these limits, and about 13 s of rendering.
    const slow = await frameBombGif(jobs.scratchDir, 20_000, 32);
    const job = await uploadForJob(jobs.media, 'uploads/u5/slow.gif', slow, 'image/gif');
    const next = await uploadPhoto(jobs.media, 'uploads/u5/next.jpg');
    const config = imageLimits({ maxFrames: 20_000, maxPixels: 30_000_000, timeoutMs: 2_000 });
    const started = Date.now();
    expect(await jobs.run(job, {}, config)).toMatchObject({ outcome: 'failed', attempt: 1 });
    const { manifest } = await storedManifest(jobs.media, job);
    expect(manifest.error).toEqual({ code: 'RenderTimeout', message: 'the image did not render within 2 s' });
    // The job ended at its deadline, not the render's end, so the queue behind it moves.
    const nextStarted = Date.now();
    expect(nextStarted - started).toBeLessThan(6_000);
    expect(await jobs.run(next, {}, config)).toMatchObject({ outcome: 'succeeded' });
  });

  it('a video transcode that never ends is killed at its bound: RenderTimeout, on the first attempt', async () => {
    const path = join(jobs.scratchDir, 'endless.mp4');
    await generateVideo(path, { width: 64, height: 48, seconds: 1, audio: false });
    const real = await testTools();
    const endless = await fakeTool(jobs.scratchDir, 'ffmpeg-endless', 'exec sleep 60');
    const job = await uploadForJob(jobs.media, 'uploads/u5/endless.mp4', await readFile(path), 'video/mp4');
    const started = Date.now();
    // A function timeout of 2 s leaves 1.5 s for the transcode after the quarter kept for uploads.
    const result = await jobs.run(
      job,
      { tools: async () => ({ ...real, ffmpeg: endless }) },
      workerConfig({ timeoutMs: 2_000 }),
    );
    expect(result).toMatchObject({ outcome: 'failed', attempt: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
    const { manifest } = await storedManifest(jobs.media, job);
    expect(manifest.error).toEqual({
      code: 'RenderTimeout',
      message: 'ffmpeg could not transcode the video in time',
    });
  });
});
