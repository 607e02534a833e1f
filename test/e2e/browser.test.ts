/**
 * End to end in a real browser: Debian's chromium (driven by playwright-core) opens the dev stack's demo page, which
 * uploads with the client library's browser bundle: a small image with the signed PostObject form, a larger file in
 * parts (paused and resumed), a video, and three files dropped at once at a phone's width — each with progress, the
 * callback's answer and the thumbnail, or the failed step in red.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page, type Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaManifest } from '../../shared/media-manifest.js';
import { type E2eStack, startE2eStack } from '../helpers/dev-stack.js';
import { generateVideo, noisePng, solidPng } from '../helpers/media.js';
import { readJson } from '../helpers/oss-clients.js';

let e2e: E2eStack;
let browser: Browser;

beforeAll(async () => {
  [e2e, browser] = await Promise.all([
    // The 64 MiB image is decoded for its thumbnails (the default cap is 50 MiB).
    startE2eStack({ env: { UPCALL_IMAGE_MAX_BYTES: String(80 * 1024 * 1024) } }),
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
const untilInPage = (page: Page, expression: string, timeout = 30_000) =>
  page.waitForFunction(expression, undefined, { timeout });

const MIB = 1024 * 1024;

/** What a card shows, read in the page. */
interface Card {
  name: string;
  state: string;
  percent: number;
  progressEvents: number;
  resumedBytes: number;
  steps: Record<string, string>;
  error: string | null;
  outputsShown: boolean;
  outputs: number;
  image: { src: string; width: number; height: number } | null;
}

const CARDS = `[...document.querySelectorAll('#uploads .upload')].map((card) => {
  const image = card.querySelector('.preview img');
  const error = card.querySelector('.error');
  return {
    name: card.querySelector('.name').textContent,
    state: card.dataset.state,
    percent: Number(card.querySelector('.meter').getAttribute('aria-valuenow')),
    progressEvents: Number(card.dataset.progressEvents ?? 0),
    resumedBytes: Number(card.dataset.resumedBytes ?? -1),
    steps: Object.fromEntries([...card.querySelectorAll('.steps li')].map((li) => [li.dataset.step, li.className])),
    error: error.hidden ? null : error.textContent,
    outputsShown: !card.querySelector('.outputs').hidden,
    outputs: card.querySelectorAll('.outputs li').length,
    image: image ? { src: image.src, width: image.naturalWidth, height: image.naturalHeight } : null,
  };
})`;
const cards = (page: Page) => inPage<Card[]>(page, CARDS);

/** Until `count` cards are done or failed, and every image shown has loaded. */
const settled = (page: Page, count: number, timeout = 30_000) =>
  untilInPage(
    page,
    `(() => { const all = [...document.querySelectorAll('#uploads .upload')];
      return all.length === ${count} && all.every((c) => ['done', 'failed'].includes(c.dataset.state))
        && [...document.querySelectorAll('#uploads .preview img')].every((i) => i.naturalWidth > 0); })()`,
    timeout,
  );

/** The demo as `user`; records the requests the page makes to OSS, the grants it asks for, and its errors. */
async function openDemo(user: string, viewport = { width: 1024, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  const ossRequests: string[] = [];
  const grants: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const oss = new URL(e2e.stack.info.oss.endpoint).host;
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.host === oss) ossRequests.push(`${request.method()} ${url.search}`);
    if (request.url() === e2e.stack.info.token.url && request.method() === 'POST') {
      grants.push((JSON.parse(request.postData() ?? '{}') as { grant: string }).grant);
    }
  });
  await page.goto(e2e.stack.info.demo.url);
  await page.fill('#user', user);
  return { page, errors, ossRequests, grants };
}

/** The uploads of `user` in OSS, with their manifests. */
async function uploadsOf(user: string) {
  const listed = await e2e.root.listV2({ prefix: `uploads/${user}/`, 'max-keys': '10' }, {});
  return Promise.all(
    (listed.objects ?? []).map(async (object) => {
      const etag = object.etag.replaceAll('"', '');
      const manifest = await readJson<MediaManifest>(
        e2e.root,
        `derived/${object.name}/${etag}/manifest.json`,
      );
      return { object, etag, manifest };
    }),
  );
}

const png = (width: number, height: number, background = '#e0662a') => solidPng(width, height, background);

/** A PNG of noise `side` pixels square (about 3 bytes a pixel) in the stack's folder: its path and size. */
async function noiseFile(name: string, side: number): Promise<{ path: string; size: number }> {
  const path = join(e2e.dataDir, name);
  const image = await noisePng(side);
  await writeFile(path, image);
  return { path, size: image.length };
}

describe('the demo page in chromium', () => {
  it('uploads a small image with the signed form, with progress, and shows its thumbnail', async () => {
    const buffer = await png(400, 250);
    const { page, errors, ossRequests, grants } = await openDemo('carol');
    await page.setInputFiles('#file', { name: 'sunset.png', mimeType: 'image/png', buffer });
    await settled(page, 1);
    const [card] = await cards(page);

    const [upload, ...others] = await uploadsOf('carol');
    expect(others).toEqual([]);
    expect(upload?.object.name).toMatch(/^uploads\/carol\/[0-9a-f-]{36}\/sunset\.png$/);
    expect(upload?.object.size).toBe(buffer.length);
    expect(upload?.manifest).toMatchObject({ status: 'succeeded', kind: 'image', contentType: 'image/png' });
    // One PostObject (no query); no multipart request; STS credentials only to read the outputs.
    expect(ossRequests.filter((r) => r.startsWith('POST'))).toEqual(['POST ']);
    expect(grants).toEqual(['form', 'credentials']);
    expect(card).toMatchObject({
      state: 'done',
      percent: 100,
      error: null,
      outputsShown: true,
      outputs: upload?.manifest.outputs.length,
      steps: { upload: 'done', callback: 'done', processing: 'done', ready: 'done' },
    });
    expect(card?.progressEvents).toBeGreaterThan(0);
    // The largest thumbnail, through a URL the library presigned with the grant's STS credentials.
    const largest = upload?.manifest.outputs[0];
    expect([card?.image?.width, card?.image?.height]).toEqual([160, 100]);
    expect([largest?.width, largest?.height]).toEqual([160, 100]);
    expect(new URL(card?.image?.src ?? '').pathname).toBe(`/${e2e.stack.info.bucket}/${largest?.key}`);
    expect(new URL(card?.image?.src ?? '').searchParams.get('x-oss-credential')).toMatch(/^STS\./);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('uploads a larger file in parts with progress, paused and resumed without resending what OSS has', async () => {
    // Noise does not compress: ~12 MiB, two parts of the multipart grant's recommended 8 MiB.
    const buffer = await noisePng(2048);
    const { page, errors, ossRequests, grants } = await openDemo('dora');
    // Part 2 is held until the page has paused, so the pause lands after part 1 and before the other.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route(
      (url) => url.searchParams.has('partNumber'),
      async (route: Route) => {
        if (new URL(route.request().url()).searchParams.get('partNumber') !== '1') await gate;
        await route.continue().catch(() => undefined);
      },
    );
    const firstPart = page.waitForResponse((r) => new URL(r.url()).searchParams.get('partNumber') === '1');
    await page.setInputFiles('#file', { name: 'noise.png', mimeType: 'image/png', buffer });
    expect((await firstPart).status()).toBe(200);
    await page.click('#uploads .upload .pause');
    await untilInPage(page, "document.querySelector('#uploads .upload').dataset.state === 'paused'");
    const paused = (await cards(page))[0];
    release();
    await page.click('#uploads .upload .resume');
    await settled(page, 1);
    const [card] = await cards(page);

    expect(paused?.percent).toBeGreaterThanOrEqual(Math.floor((8 * MIB * 100) / buffer.length));
    expect(paused?.percent).toBeLessThan(100);
    expect(card).toMatchObject({ state: 'done', percent: 100, error: null, resumedBytes: 8 * MIB });
    expect(card?.progressEvents).toBeGreaterThan(3);
    expect(card?.image?.width).toBe(160);
    const [upload] = await uploadsOf('dora');
    expect(upload?.object.size).toBe(buffer.length);
    expect(upload?.etag).toMatch(/-2$/);
    expect(upload?.manifest).toMatchObject({ status: 'succeeded', kind: 'image' });
    // Started by the token function (no InitiateMultipartUpload from the page, no STS credentials for the parts:
    // those are only for reading the outputs); part 1 sent once; ListParts only on resuming.
    expect(ossRequests.filter((r) => r.includes('?uploads'))).toEqual([]);
    expect(ossRequests.filter((r) => r.startsWith('PUT ?partNumber=1&'))).toHaveLength(1);
    expect(ossRequests.filter((r) => r.startsWith('PUT ?partNumber=2&'))).toHaveLength(2);
    expect(ossRequests.filter((r) => r.startsWith('GET ?uploadId='))).toHaveLength(1);
    expect(grants).toEqual([
      'multipart',
      'multipart-parts',
      'multipart-parts',
      'multipart-complete',
      'credentials',
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('uploads 64 MiB in parts while a third of the part requests fail, and shows the thumbnail', async () => {
    const { path, size } = await noiseFile('big.png', 4730);
    expect(size).toBeGreaterThan(64 * MIB);
    const { page, errors, ossRequests } = await openDemo('fred');
    let partRequests = 0;
    let failed = 0;
    await page.route(
      (url) => url.searchParams.has('partNumber'),
      async (route: Route) => {
        if (++partRequests % 3 === 0) {
          failed++;
          await route.abort('failed');
          return;
        }
        await route.continue().catch(() => undefined);
      },
    );
    await page.setInputFiles('#file', path);
    await settled(page, 1, 120_000);
    const [card] = await cards(page);
    expect(card).toMatchObject({ state: 'done', percent: 100, error: null });
    expect(card?.image?.width).toBe(160);
    const [upload] = await uploadsOf('fred');
    expect(upload?.object.size).toBe(size);
    expect(upload?.etag).toMatch(new RegExp(`-${Math.ceil(size / (8 * MIB))}$`));
    expect(failed).toBeGreaterThanOrEqual(Math.floor(Math.ceil(size / (8 * MIB)) / 3));
    // Every part went up; the failed requests were retried.
    expect(ossRequests.filter((r) => r.startsWith('PUT ?partNumber=')).length).toBe(partRequests);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('resumes after a page reload from its IndexedDB checkpoint, resending less than half', async () => {
    const { path, size } = await noiseFile('reloaded.png', 2048);
    const { page, errors, ossRequests, grants } = await openDemo('rita');
    // Part 2 never gets through before the reload.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route(
      (url) => url.searchParams.get('partNumber') === '2',
      async (route: Route) => {
        await gate;
        await route.continue().catch(() => undefined);
      },
    );
    const firstPart = page.waitForResponse((r) => new URL(r.url()).searchParams.get('partNumber') === '1');
    await page.setInputFiles('#file', path);
    expect((await firstPart).status()).toBe(200);
    await page.reload();
    release();
    await page.fill('#user', 'rita');
    await page.setInputFiles('#file', path);
    await settled(page, 1);
    const [card] = await cards(page);
    expect(card).toMatchObject({ state: 'done', error: null, resumedBytes: 8 * MIB });
    expect(size - 8 * MIB).toBeLessThan(size / 2);
    const [upload] = await uploadsOf('rita');
    expect(upload?.object.size).toBe(size);
    expect(ossRequests.filter((r) => r.startsWith('PUT ?partNumber=1&'))).toHaveLength(1);
    expect(grants.filter((g) => g === 'multipart')).toHaveLength(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('uploads a video and shows the transcode with its poster', async () => {
    const path = join(e2e.dataDir, 'clip.mp4');
    await generateVideo(path, { width: 160, height: 120, seconds: 1 });
    const { page, errors } = await openDemo('dave');
    await page.setInputFiles('#file', {
      name: 'clip.mp4',
      mimeType: 'video/mp4',
      buffer: await readFile(path),
    });
    await settled(page, 1);
    // Chromium decodes the transcode's H.264 and knows its size once the metadata is in.
    await untilInPage(page, "document.querySelector('#uploads video')?.videoWidth > 0");
    const video = await inPage<{
      poster: string;
      src: string;
      width: number;
      height: number;
      error: unknown;
    }>(
      page,
      "(v => ({ poster: v.poster, src: v.currentSrc, width: v.videoWidth, height: v.videoHeight, error: v.error }))(document.querySelector('#uploads video'))",
    );
    const [upload] = await uploadsOf('dave');
    const poster = upload?.manifest.outputs.find((o) => o.role === 'poster');
    const transcode = upload?.manifest.outputs.find((o) => o.role === 'transcode');
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

  it('takes three dropped files at once at a phone’s width: two thumbnails, and the failed one says where it failed', async () => {
    const files = [
      { name: 'red.png', type: 'image/png', data: (await png(300, 200, '#c00')).toString('base64') },
      { name: 'blue.png', type: 'image/png', data: (await png(200, 300, '#00c')).toString('base64') },
      { name: 'corrupt.png', type: 'image/png', data: Buffer.from('this is not a png').toString('base64') },
    ];
    const { page, errors } = await openDemo('emil', { width: 390, height: 844 });
    await inPage(
      page,
      `(() => { const transfer = new DataTransfer();
        for (const f of ${JSON.stringify(files)}) {
          transfer.items.add(new File([Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
        }
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      })()`,
    );
    await settled(page, 3);
    const [red, blue, corrupt] = await cards(page);
    expect([red?.state, red?.image?.width, red?.image?.height]).toEqual(['done', 160, 107]);
    expect([blue?.state, blue?.image?.width, blue?.image?.height]).toEqual(['done', 107, 160]);
    // Stored and called back, then refused by the media worker: red on Processing, nothing orange, no outputs heading.
    expect(corrupt).toMatchObject({
      state: 'failed',
      steps: { upload: 'done', callback: 'done', processing: 'failed', ready: '' },
      outputsShown: false,
      image: null,
    });
    expect(corrupt?.error).toMatch(/^ProcessingFailed: .*UnsupportedMedia/);
    expect(await inPage<string>(page, 'document.body.dataset.state')).toBe('error');
    expect((await uploadsOf('emil')).map((u) => u.manifest.status).sort()).toEqual([
      'failed',
      'succeeded',
      'succeeded',
    ]);
    // No sideways scroll on a 390 px phone.
    expect(await inPage<number>(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
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
