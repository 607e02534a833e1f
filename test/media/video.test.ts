import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaFailure } from '../../functions/media/failure.js';
import { locateTool, type MediaTools, runTool, ToolError } from '../../functions/media/ffmpeg.js';
import { renderVideo, type VideoOptions } from '../../functions/media/video.js';
import {
  ffprobe,
  generateAudio,
  generateVideo,
  testTools,
  topLevelBoxes,
  videoOptions,
} from '../helpers/media.js';

describe('ffmpeg locator', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upcall-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('uses an explicit path, and refuses one that is not executable', async () => {
    const tools = await testTools();
    await expect(locateTool('ffmpeg', tools.ffmpeg, {})).resolves.toBe(tools.ffmpeg);
    await expect(locateTool('ffmpeg', join(dir, 'missing'), {})).rejects.toThrow(/^FFMPEG_PATH /);
  });

  it('prefers PATH to the npm binary, and falls back to the npm binary', async () => {
    const fake = join(dir, 'ffprobe');
    await writeFile(fake, '#!/bin/sh\nexit 0\n');
    await chmod(fake, 0o755);
    const layer = await locateTool('ffprobe', '', { PATH: '' });
    if (layer === '/opt/bin/ffprobe') return; // FC's layer is present here and rightly wins
    await expect(locateTool('ffprobe', '', { PATH: `/nonexistent:${dir}` })).resolves.toBe(fake);
    expect(layer).toMatch(/@ffprobe-installer/);
    const version = await runTool(layer, ['-version'], { timeoutMs: 10_000, captureStdout: true });
    expect(version).toMatch(/^ffprobe version/);
  });

  it('kills a run at its timeout and keeps the tail of stderr', async () => {
    const { ffmpeg } = await testTools();
    const slow = runTool(ffmpeg, ['-re', '-f', 'lavfi', '-i', 'testsrc=rate=5', '-f', 'null', '-'], {
      timeoutMs: 300,
    });
    await expect(slow).rejects.toMatchObject({ timedOut: true });
    const bad = await runTool(ffmpeg, ['-hide_banner', '-i', join(dir, 'nothing.mp4'), '-f', 'null', '-'], {
      timeoutMs: 10_000,
    }).catch((e: unknown) => e as ToolError);
    expect(bad).toBeInstanceOf(ToolError);
    expect((bad as ToolError).stderrTail).toContain('No such file or directory');
    expect((bad as ToolError).message).toContain('No such file or directory');
  });
});

describe('video pipeline (ffmpeg)', () => {
  let dir: string;
  let tools: MediaTools;
  const landscape = () => join(dir, 'landscape.mp4');
  const options = (workDir: string, overrides: Partial<VideoOptions> = {}) =>
    videoOptions(workDir, { tools, maxLines: 120, ...overrides });
  const workDir = async (name: string) => {
    const path = join(dir, name);
    await mkdir(path);
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upcall-'));
    tools = await testTools();
    await generateVideo(landscape(), { width: 320, height: 240, seconds: 3 });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('transcodes a 3 s clip with audio to a playable faststart H.264/AAC MP4 and a poster', async () => {
    const out = await renderVideo(landscape(), await options(await workDir('a')));
    expect(out.input).toMatchObject({ width: 320, height: 240, videoCodec: 'h264', audioCodec: 'aac' });
    expect(out.input.durationMs).toBeGreaterThan(2_800);
    expect(out.transcode).toMatchObject({ width: 160, height: 120 });
    expect(Math.abs(out.transcode.durationMs - 3_000)).toBeLessThan(200);

    const probed = await ffprobe(out.transcode.path);
    const video = probed.streams.find((s) => s.codec_type === 'video');
    const audio = probed.streams.find((s) => s.codec_type === 'audio');
    expect(video).toMatchObject({ codec_name: 'h264', width: 160, height: 120 });
    expect(audio?.codec_name).toBe('aac');
    expect(probed.format.format_name).toContain('mp4');
    const mp4 = await readFile(out.transcode.path);
    expect(mp4.length).toBe(out.transcode.bytes);
    const boxes = topLevelBoxes(mp4);
    expect(boxes.indexOf('moov')).toBeGreaterThan(-1);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
    // Decodes end to end (a playable file, not just a valid header).
    await runTool(tools.ffmpeg, ['-v', 'error', '-i', out.transcode.path, '-f', 'null', '-'], {
      timeoutMs: 20_000,
    });

    const poster = await sharp(await readFile(out.poster.path)).metadata();
    expect([poster.format, poster.width, poster.height]).toEqual(['jpeg', 160, 120]);
    expect(Object.keys(out.steps).sort()).toEqual(['inspect', 'poster', 'probe', 'transcode']);
  });

  it('bounds the shorter side, so a portrait video keeps its quality; never enlarges', async () => {
    const portrait = join(dir, 'portrait.mp4');
    await generateVideo(portrait, { width: 240, height: 320, seconds: 1, audio: false });
    const small = await renderVideo(portrait, await options(await workDir('b')));
    expect(small.transcode).toMatchObject({ width: 120, height: 160 });
    expect(small.input.audioCodec).toBeUndefined();
    const large = await renderVideo(portrait, await options(await workDir('c'), { maxLines: 720 }));
    expect(large.transcode).toMatchObject({ width: 240, height: 320 });
  });

  it('fails permanently: audio only, too long, not a video', async () => {
    const audioOnly = join(dir, 'tone.m4a');
    await generateAudio(audioOnly);
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'resolved',
        (e: unknown) => (e instanceof MediaFailure ? e.code : String(e)),
      );
    expect(await codeOf(renderVideo(audioOnly, await options(await workDir('d'))))).toBe('NoVideoStream');
    expect(
      await codeOf(renderVideo(landscape(), await options(await workDir('e'), { maxDurationMs: 1_000 }))),
    ).toBe('VideoTooLong');
    const garbage = join(dir, 'garbage.mp4');
    await writeFile(garbage, Buffer.alloc(4096, 7));
    expect(await codeOf(renderVideo(garbage, await options(await workDir('f'))))).toBe('UnsupportedMedia');
  });
});
