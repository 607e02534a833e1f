/** Identifying sources by their bytes: every container the worker accepts is named, and read by the demuxer named. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../../functions/media/ffmpeg.js';
import { SNIFF_BYTES, sniff } from '../../functions/media/sniff.js';
import { renderVideo } from '../../functions/media/video.js';
import { animatedGif, testTools, videoOptions } from '../helpers/media.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('images, by magic number', () => {
  const base = () => sharp({ create: { width: 16, height: 12, channels: 3, background: '#3080c0' } });
  it.each([
    ['jpeg', () => base().jpeg().toBuffer()],
    ['png', () => base().png().toBuffer()],
    ['webp', () => base().webp().toBuffer()],
    ['gif', animatedGif],
    ['tiff', () => base().tiff().toBuffer()],
    ['heif', () => base().avif().toBuffer()],
    [
      'svg',
      async () =>
        Buffer.from(
          '\uFEFF<?xml version="1.0"?>\n<!-- a comment -->\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>',
        ),
    ],
  ])('%s is named as sharp names it', async (format, make) => {
    const bytes = await make();
    expect(sniff(bytes.subarray(0, SNIFF_BYTES))).toEqual({ kind: 'image', format });
    expect((await sharp(bytes).metadata()).format).toBe(format);
  });
});

describe('video containers, by magic number, read by the demuxer named', () => {
  const clip = async (name: string, codecArgs: string[]) => {
    const path = join(dir, name);
    const { ffmpeg } = await testTools();
    await runTool(
      ffmpeg,
      [
        ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
        ...['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=1', ...codecArgs, path],
      ],
      { timeoutMs: 20_000 },
    );
    return path;
  };

  it.each([
    ['clip.mp4', 'mov', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p']],
    ['clip.mov', 'mov', ['-c:v', 'mpeg4']],
    ['clip.webm', 'matroska', ['-c:v', 'libvpx']],
    ['clip.mkv', 'matroska', ['-c:v', 'mpeg4']],
    ['clip.avi', 'avi', ['-c:v', 'mpeg4']],
    ['clip.ts', 'mpegts', ['-c:v', 'mpeg2video']],
    ['clip.mpg', 'mpeg', ['-c:v', 'mpeg2video']],
    ['clip.flv', 'flv', ['-c:v', 'flv']],
    ['clip.ogv', 'ogg', ['-c:v', 'libtheora']],
    ['clip.wmv', 'asf', ['-c:v', 'wmv2']],
  ])('%s is read as %s', async (name, format, codecArgs) => {
    const path = await clip(name, codecArgs);
    const found = sniff((await readFile(path)).subarray(0, SNIFF_BYTES));
    expect(found).toMatchObject({ kind: 'video', format });
    const workDir = await mkdtemp(join(dir, 'work-'));
    const rendered = await renderVideo(path, await videoOptions(workDir, { maxLines: 48, format }));
    expect(rendered.transcode).toMatchObject({ width: 64, height: 48 });
  });
});

describe('not media', () => {
  it.each([
    ['#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:1/a.ts\n', 'an HLS playlist'],
    ['\uFEFF  #EXTM3U\n', 'an HLS playlist'],
    ["ffconcat version 1.0\nfile 'http://127.0.0.1:1/a.mp4'\n", 'an ffmpeg concat list'],
    ['<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>', 'a DASH manifest'],
    ['<html><body>hello</body></html>', 'a text file'],
  ])('%j is refused as %s', (text, name) => {
    expect(sniff(Buffer.from(text))).toEqual({ kind: 'other', name });
  });

  it('says what unknown bytes and an empty file are', () => {
    expect(sniff(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))).toEqual({
      kind: 'other',
      name: 'an unrecognised binary file',
    });
    expect(sniff(Buffer.alloc(0))).toEqual({ kind: 'other', name: 'an empty file' });
  });
});
