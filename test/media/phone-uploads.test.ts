/**
 * Phone uploads end to end: an iPhone-like 12 MP HEIC still and a rotated 10-bit HLG HEVC `.mov`, uploaded to the
 * dev stack with the upload CLI (a grant from the token function, the ticket and the callback), processed by the media
 * function in the local FC; the manifest and the thumbnails in OSS are checked, pixels included.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { CallbackAnswer } from '../../shared/callback-contract.js';
import type { MediaManifest } from '../../shared/media-manifest.js';
import { useE2eStack, waitForObject } from '../helpers/dev-stack.js';
import { pixelAt, testTools } from '../helpers/media.js';
import { readJson } from '../helpers/oss-clients.js';
import {
  expectUpright,
  heifEnc,
  phoneMov,
  sidewaysJpeg,
  UPRIGHT_HLG_CLIP,
  withIrot,
} from '../helpers/phone-media.js';

const e2e = useE2eStack();

/** Upload as a user would: `npm run upload` (the CLI, in-process) as `alice`; the callback's answer it printed. */
async function phoneUpload(name: string, body: Buffer, contentType: string): Promise<CallbackAnswer> {
  const file = join(e2e.dataDir, name);
  await writeFile(file, body);
  const run = await e2e.upload([file, '--user', 'alice', '--content-type', contentType, '--json']);
  expect(run.code, run.stderr).toBe(0);
  const answer = (JSON.parse(run.stdout) as { callback: CallbackAnswer }).callback;
  expect(answer).toMatchObject({ status: 'accepted', object: { contentType } });
  return answer;
}

/** The job's manifest once the worker has written it, required to have succeeded. */
async function finishedManifest(answer: CallbackAnswer): Promise<MediaManifest> {
  const manifestKey = answer.jobs[0]?.manifestKey ?? '';
  await waitForObject(e2e.root, manifestKey, 60_000);
  const manifest = await readJson<MediaManifest>(e2e.root, manifestKey);
  expect(manifest, JSON.stringify(manifest)).toMatchObject({ status: 'succeeded' });
  return manifest;
}

async function stored(key: string): Promise<Buffer> {
  return Buffer.from((await e2e.root.get(key)).content);
}

const grey = (pixel: { r: number; g: number; b: number }) => Math.round((pixel.r + pixel.g + pixel.b) / 3);

describe('phone uploads through the dev stack (the CLI, token grant, callback, media function)', () => {
  it('a 12 MP iPhone-style HEIC (irot and EXIF orientation 6) gets upright thumbnails of the right size', async () => {
    // Stored 4032×3024 landscape, shown as 3024×4032 portrait: blue on the left, red on the right when upright.
    const heic = withIrot(await heifEnc([await sidewaysJpeg(4032, 3024)]), 3);
    const answer = await phoneUpload('IMG_0001.HEIC', heic, 'image/heic');
    const manifest = await finishedManifest(answer);
    expect(manifest).toMatchObject({
      kind: 'image',
      input: { format: 'heif', width: 3024, height: 4032 },
    });
    // E2E_FUNCTION_ENV: 160×160 and 64×64 boxes, WebP.
    const thumbnails = manifest.outputs.filter((output) => output.role === 'thumbnail');
    expect(thumbnails.map((t) => [t.width, t.height, t.contentType])).toEqual([
      [120, 160, 'image/webp'],
      [48, 64, 'image/webp'],
    ]);
    for (const thumbnail of thumbnails) {
      const image = await stored(thumbnail.key);
      const meta = await sharp(image).metadata();
      expect([meta.format, meta.width, meta.height, meta.orientation]).toEqual([
        'webp',
        thumbnail.width,
        thumbnail.height,
        undefined,
      ]);
      await expectUpright(image, thumbnail.width, thumbnail.height);
    }
  }, 180_000);

  it('a 10-bit HLG HEVC .mov rotated 90° becomes an upright H.264 MP4 with a matching poster and thumbnails', async () => {
    const path = join(e2e.dataDir, 'IMG_0002.MOV');
    // Stored 320×180, top half light and bottom half dark; displayed turned clockwise, 180×320.
    await phoneMov((await testTools()).ffmpeg, path, UPRIGHT_HLG_CLIP);
    const answer = await phoneUpload('IMG_0002.MOV', await readFile(path), 'video/quicktime');
    const manifest = await finishedManifest(answer);
    expect(manifest).toMatchObject({
      kind: 'video',
      input: { videoCodec: 'hevc', width: 180, height: 320 },
    });
    // UPCALL_VIDEO_MAX_HEIGHT=144 bounds the short side: 144 wide, 256 high.
    const transcode = manifest.outputs.find((output) => output.role === 'transcode');
    expect(transcode).toMatchObject({ contentType: 'video/mp4', width: 144, height: 256 });
    const mp4 = await stored(transcode?.key ?? '');
    expect(mp4.toString('latin1', 4, 8)).toBe('ftyp');

    const posters = manifest.outputs.filter((output) => output.role !== 'transcode');
    expect(posters.length).toBeGreaterThan(1);
    for (const poster of posters) {
      // Portrait, as displayed.
      expect(poster.height, poster.key).toBeGreaterThan(poster.width);
      const image = await stored(poster.key);
      const meta = await sharp(image).metadata();
      expect([meta.width, meta.height]).toEqual([poster.width, poster.height]);
      // Turned clockwise: the stored top (light) is on the right, the bottom (dark) on the left.
      const middle = Math.floor(poster.height / 2);
      expect(grey(await pixelAt(image, Math.floor(poster.width * 0.8), middle))).toBeGreaterThan(150);
      expect(grey(await pixelAt(image, Math.floor(poster.width * 0.2), middle))).toBeLessThan(70);
    }
  }, 180_000);
});
