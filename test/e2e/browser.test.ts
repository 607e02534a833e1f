/**
 * End to end in a real browser: Debian's chromium (driven by playwright-core) opens the dev stack's demo page, picks a
 * file, gets a token cross-origin, uploads it with the signed PostObject form (XMLHttpRequest, with progress) and
 * shows the thumbnail, or the video with its poster, once the manifest is there.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaManifest } from '../../shared/media-manifest.js';
import { type E2eStack, startE2eStack } from '../helpers/dev-stack.js';
import { generateVideo } from '../helpers/media.js';
import { readJson } from '../helpers/oss-clients.js';

let e2e: E2eStack;
let browser: Browser;

beforeAll(async () => {
  [e2e, browser] = await Promise.all([
    startE2eStack(),
    chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await e2e?.close();
});

/**
 * Run a JavaScript expression in the page. Written as strings: the tests are type-checked without the DOM library,
 * and these run in the browser, not here.
 */
const inPage = <T>(page: Page, expression: string) => page.evaluate(expression) as Promise<T>;
const untilInPage = (page: Page, expression: string) =>
  page.waitForFunction(expression, undefined, { timeout: 20_000 });

/** Open the demo, upload `file` as `user`, and wait until the page is done; returns the page and its errors. */
async function uploadInPage(user: string, file: { name: string; mimeType: string; buffer: Buffer }) {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(e2e.stack.info.demo.url);
  await page.fill('#user', user);
  await page.setInputFiles('#file', file);
  await page.click('#start');
  await untilInPage(page, "['ready', 'error'].includes(document.body.dataset.state)");
  const state = await inPage<string>(page, 'document.body.dataset.state');
  expect(state, (await page.textContent('#error')) ?? '').toBe('ready');
  return { page, errors };
}

/** The one upload of `user`, its manifest and what the page shows of the upload. */
async function uploadedBy(user: string, page: Page) {
  const listed = await e2e.root.listV2({ prefix: `uploads/${user}/`, 'max-keys': '10' }, {});
  expect(listed.objects).toHaveLength(1);
  const object = listed.objects[0]!;
  const etag = object.etag.replaceAll('"', '');
  const manifest = await readJson<MediaManifest>(e2e.root, `derived/${object.name}/${etag}/manifest.json`);
  const progress = await inPage<{ value: number; events: number }>(
    page,
    "({ value: document.getElementById('progress').value, events: Number(document.body.dataset.uploadProgressEvents) })",
  );
  return { object, manifest, progress };
}

describe('the demo page in chromium', () => {
  it('uploads an image with a PostObject form, with progress, and shows its thumbnail', async () => {
    const buffer = await sharp({ create: { width: 400, height: 250, channels: 3, background: '#e0662a' } })
      .png()
      .toBuffer();
    const { page, errors } = await uploadInPage('carol', {
      name: 'sunset.png',
      mimeType: 'image/png',
      buffer,
    });
    await untilInPage(page, "document.querySelector('#preview img')?.naturalWidth > 0");
    const shown = await inPage<{ src: string; width: number; height: number }>(
      page,
      "(({ src, naturalWidth: width, naturalHeight: height }) => ({ src, width, height }))(document.querySelector('#preview img'))",
    );

    const { object, manifest, progress } = await uploadedBy('carol', page);
    expect(object.name).toMatch(/^uploads\/carol\/[0-9a-f-]{36}\/sunset\.png$/);
    expect(object.size).toBe(buffer.length);
    expect(manifest).toMatchObject({ status: 'succeeded', kind: 'image', contentType: 'image/png' });
    // The largest thumbnail, fetched through a URL the page presigned with the token's credentials.
    const largest = manifest.outputs[0]!;
    expect([shown.width, shown.height]).toEqual([160, 100]);
    expect([largest.width, largest.height]).toEqual([160, 100]);
    expect(new URL(shown.src).pathname).toBe(`/${e2e.stack.info.bucket}/${largest.key}`);
    expect(new URL(shown.src).searchParams.get('x-oss-credential')).toMatch(/^STS\./);
    expect(progress.value).toBe(100);
    expect(progress.events).toBeGreaterThan(0);
    expect(await page.locator('#outputs li').count()).toBe(manifest.outputs.length);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('uploads a video and shows the transcode with its poster', async () => {
    const path = join(e2e.dataDir, 'clip.mp4');
    await generateVideo(path, { width: 160, height: 120, seconds: 1 });
    const { page, errors } = await uploadInPage('dave', {
      name: 'clip.mp4',
      mimeType: 'video/mp4',
      buffer: await readFile(path),
    });
    // Chromium decodes the transcode's H.264 and knows its size once the metadata is in.
    await untilInPage(page, "document.querySelector('#preview video')?.videoWidth > 0");
    const video = await inPage<{
      poster: string;
      src: string;
      width: number;
      height: number;
      error: unknown;
    }>(
      page,
      "(v => ({ poster: v.poster, src: v.currentSrc, width: v.videoWidth, height: v.videoHeight, error: v.error }))(document.querySelector('#preview video'))",
    );
    const { manifest } = await uploadedBy('dave', page);
    const poster = manifest.outputs.find((o) => o.role === 'poster');
    const transcode = manifest.outputs.find((o) => o.role === 'transcode');
    expect(new URL(video.poster).pathname).toBe(`/${e2e.stack.info.bucket}/${poster?.key}`);
    expect(new URL(video.src).pathname).toBe(`/${e2e.stack.info.bucket}/${transcode?.key}`);
    expect(video).toMatchObject({ width: transcode?.width, height: transcode?.height, error: null });
    // The poster decodes as an image of the poster's size.
    const posterWidth = await inPage<number>(
      page,
      `new Promise((resolve) => { const image = new Image(); image.onload = () => resolve(image.naturalWidth); image.onerror = () => resolve(-1); image.src = ${JSON.stringify(video.poster)}; })`,
    );
    expect(posterWidth).toBe(poster?.width);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('is the only origin the token function takes browser requests from', async () => {
    const { url } = e2e.stack.info.token;
    const jwt = await e2e.stack.userToken('carol');
    const from = (origin: string) =>
      fetch(url, { method: 'POST', headers: { origin, authorization: `Bearer ${jwt}` } });
    const demoOrigin = new URL(e2e.stack.info.demo.url).origin;
    const allowed = await from(demoOrigin);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(demoOrigin);
    const refused = await from('http://evil.example');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('OriginNotAllowed');
  });
});
