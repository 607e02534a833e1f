/**
 * Video as phones shoot it, through the video pipeline with both ffmpeg builds upcall meets: the static one
 * `npm run build` ships to FC, and Debian's (what a developer's PATH has). HEVC 8- and 10-bit QuickTime with an
 * iPhone's rotation matrix, HLG and PQ HDR, 10-bit SDR, variable frame rate, a one-frame clip, audio only.
 * Fixtures are made at test time with Debian's ffmpeg (libx265); outputs are read back with ffprobe and sharp.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MediaTools, runTool } from '../../functions/media/ffmpeg.js';
import { renderVideo } from '../../functions/media/video.js';
import { failureOf, pixelAt, synthesize, testTools, topLevelBoxes, videoOptions } from '../helpers/media.js';
import { type PhoneVideoOptions, phoneMov, shippedTools, UPRIGHT_HLG_CLIP } from '../helpers/phone-media.js';

interface Probed {
  streams: Array<{
    codec_type: string;
    codec_name: string;
    profile?: string;
    pix_fmt?: string;
    width?: number;
    height?: number;
    color_transfer?: string;
    color_primaries?: string;
    avg_frame_rate?: string;
    nb_read_frames?: string;
    side_data_list?: unknown[];
  }>;
  format: { duration: string };
}

let fixtureTools: MediaTools;
let dir: string;
beforeAll(async () => {
  fixtureTools = await testTools();
  dir = await mkdtemp(join(tmpdir(), 'upcall-phone-video-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function probe(path: string): Promise<Probed> {
  const out = await runTool(
    fixtureTools.ffprobe,
    ['-v', 'error', '-count_frames', '-print_format', 'json', '-show_format', '-show_streams', path],
    { timeoutMs: 30_000, captureStdout: true },
  );
  return JSON.parse(out) as Probed;
}

/** One source file per set of options, shared by both ffmpeg builds' runs. */
const fixtures = new Map<string, Promise<string>>();
function fixture(options: PhoneVideoOptions): Promise<string> {
  const id = JSON.stringify(options);
  let made = fixtures.get(id);
  if (!made) {
    const path = join(dir, `source-${fixtures.size}.mov`);
    made = phoneMov(fixtureTools.ffmpeg, path, options).then(() => path);
    fixtures.set(id, made);
  }
  return made;
}

/** Most clips below: one second, 320×180 as stored. */
const CLIP = { width: 320, height: 180, seconds: 1 };

/** Encoding fixtures and transcoding twice is slow on a loaded 2-core machine. */
const SLOW_MS = 120_000;

const video = (probed: Probed) => probed.streams.find((stream) => stream.codec_type === 'video');
const grey = (pixel: { r: number; g: number; b: number }) => Math.round((pixel.r + pixel.g + pixel.b) / 3);

describe.each([
  ['the shipped static ffmpeg', shippedTools],
  ["Debian's ffmpeg", testTools],
])('phone video with %s', (_name, tools) => {
  async function render(options: PhoneVideoOptions) {
    const workDir = await mkdtemp(join(dir, 'work-'));
    const source = await fixture(options);
    const rendered = await renderVideo(
      source,
      await videoOptions(workDir, { tools: await tools(), deadline: Date.now() + 300_000 }),
    );
    const poster = await readFile(rendered.poster.path);
    return { source, rendered, poster, output: await probe(rendered.transcode.path) };
  }

  it(
    'turns a 10-bit HLG HEVC .mov rotated 90° into an upright 8-bit SDR H.264 MP4 and poster',
    async () => {
      const { source, rendered, poster, output } = await render(UPRIGHT_HLG_CLIP);
      expect(video(await probe(source))).toMatchObject({
        codec_name: 'hevc',
        pix_fmt: 'yuv420p10le',
        width: 320,
      });
      expect(rendered.input).toMatchObject({
        videoCodec: 'hevc',
        audioCodec: 'aac',
        width: 180,
        height: 320,
      });
      expect(rendered.transcode).toMatchObject({ width: 180, height: 320 });
      // Upright in the pixels themselves: no rotation left for a player to (mis)apply.
      expect(video(output)).toMatchObject({
        codec_name: 'h264',
        profile: 'High',
        pix_fmt: 'yuv420p',
        width: 180,
        height: 320,
        color_transfer: 'bt709',
        color_primaries: 'bt709',
      });
      expect(video(output)?.side_data_list).toBeUndefined();
      expect(output.streams.map((stream) => stream.codec_name)).toContain('aac');
      const boxes = topLevelBoxes(await readFile(rendered.transcode.path));
      expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));

      const { width, height } = await sharp(poster).metadata();
      expect([width, height]).toEqual([180, 320]);
      // Turned clockwise: the stored top (light) is on the right, the bottom (dark) on the left.
      expect(grey(await pixelAt(poster, 150, 160))).toBeGreaterThan(150);
      expect(grey(await pixelAt(poster, 30, 160))).toBeLessThan(70);
    },
    SLOW_MS,
  );

  it(
    'applies 180° and 270° too, on 8-bit HEVC',
    async () => {
      const upsideDown = await render({ ...CLIP, rotate: 180, audio: false });
      expect(upsideDown.rendered.transcode).toMatchObject({ width: 320, height: 180 });
      expect(grey(await pixelAt(upsideDown.poster, 160, 160))).toBeGreaterThan(150);
      expect(grey(await pixelAt(upsideDown.poster, 160, 20))).toBeLessThan(70);

      const anticlockwise = await render({ ...CLIP, rotate: 270, audio: false });
      expect(anticlockwise.rendered.transcode).toMatchObject({ width: 180, height: 320 });
      expect(grey(await pixelAt(anticlockwise.poster, 30, 160))).toBeGreaterThan(150);
      expect(grey(await pixelAt(anticlockwise.poster, 150, 160))).toBeLessThan(70);
    },
    SLOW_MS,
  );

  it(
    'tone-maps PQ highlights instead of clipping them',
    async () => {
      // PQ code values 0.73 and 0.6 of full scale: about 800 and 250 cd/m², both over SDR's 100 (clipping makes both
      // white); no peak stated, so the 1000 cd/m² default applies.
      const { poster, output } = await render({
        ...CLIP,
        tenBit: true,
        hdr: 'pq',
        halves: ['0xbababa', '0x999999'],
      });
      expect(video(output)).toMatchObject({ pix_fmt: 'yuv420p', color_transfer: 'bt709' });
      const brighter = grey(await pixelAt(poster, 160, 40));
      const bright = grey(await pixelAt(poster, 160, 140));
      expect(brighter).toBeLessThan(254);
      expect(bright).toBeGreaterThan(150);
      expect(brighter - bright).toBeGreaterThan(25);
    },
    SLOW_MS,
  );

  it(
    'takes 10-bit SDR down to 8 bits with its levels kept',
    async () => {
      const { poster, output } = await render({
        ...CLIP,
        tenBit: true,
        audio: false,
      });
      expect(video(output)).toMatchObject({ pix_fmt: 'yuv420p' });
      expect(Math.abs(grey(await pixelAt(poster, 160, 40)) - 0xd0)).toBeLessThan(12);
      expect(Math.abs(grey(await pixelAt(poster, 160, 140)) - 0x20)).toBeLessThan(12);
    },
    SLOW_MS,
  );

  it(
    'gives variable frame rate a constant one at the nominal rate, duration kept',
    async () => {
      const { source, output } = await render({ width: 320, height: 180, seconds: 2, frameRate: 'vfr' });
      const input = await probe(source);
      expect(Number(video(input)?.nb_read_frames)).toBeLessThan(40);
      expect(video(output)?.avg_frame_rate).toBe('30/1');
      expect(Math.abs(Number(output.format.duration) - Number(input.format.duration))).toBeLessThan(0.15);
      expect(Number(video(output)?.nb_read_frames)).toBeGreaterThan(50);
    },
    SLOW_MS,
  );

  it(
    'makes a transcode and poster of a one-frame clip',
    async () => {
      const { rendered } = await render({ ...CLIP, frames: 1, audio: false });
      expect(rendered.transcode.durationMs).toBeLessThan(200);
      expect((await readFile(rendered.poster.path)).length).toBeGreaterThan(0);
    },
    SLOW_MS,
  );

  it(
    'fails an audio-only .mov permanently with NoVideoStream',
    async () => {
      const workDir = await mkdtemp(join(dir, 'work-'));
      const source = join(workDir, 'voice.mov');
      await synthesize(['sine=duration=1'], ['-c:a', 'aac', '-f', 'mov', source], fixtureTools.ffmpeg);
      const failure = await failureOf(
        renderVideo(source, await videoOptions(workDir, { tools: await tools() })),
      );
      expect(failure.code).toBe('NoVideoStream');
    },
    SLOW_MS,
  );
});
