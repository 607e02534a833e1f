/**
 * Attacker capability: times things — lets the OSS trigger's event race the callback, replays OSS's callback, or
 * leaves the callback with nowhere to go. On the dev stack with the trigger's event delivered at once (delay 0: the
 * trigger-first race every time). What must hold: a refused upload is never processed whichever path is first; an
 * accepted one is processed exactly once; a replay changes nothing; with the callback down, the backstop still
 * reaches the same verdict.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../cli/common.js';
import { closeServer } from '../../local/listen.js';
import type { MediaManifest } from '../../shared/media-manifest.js';
import type { TokenResponse } from '../../shared/token-contract.js';
import { grantClient, requestToken } from '../helpers/ali-oss-app.js';
import { useE2eStack, waitForObject } from '../helpers/dev-stack.js';
import { solidPng } from '../helpers/media.js';
import { readJson } from '../helpers/oss-clients.js';

let png: Buffer;

const e2e = useE2eStack({ triggerDelayMs: 0 });
beforeAll(async () => {
  png = await solidPng(96, 64, '#3366cc');
});

const grantFor = async (user: string, wanted: object): Promise<TokenResponse> =>
  requestToken(e2e.stack.info.token.url, await e2e.stack.userToken(user), wanted);

const etagOf = async (key: string) =>
  String(((await e2e.root.head(key)).res.headers as Record<string, string>).etag).replaceAll('"', '');

/** Upload as the grant asks (ticket metadata and callback); OSS's answer status. */
const upload = (grant: TokenResponse, key: string, body: Buffer) =>
  grantClient(grant)
    .put(key, body, {
      mime: 'image/png',
      headers: grant.uploadHeaders,
      callback: grant.callback.aliOss,
    } as Parameters<ReturnType<typeof grantClient>['put']>[2])
    .then(
      (result) => result.res.status,
      (error: { status?: number }) => error.status,
    );

describe('an uploader who races the paths', () => {
  it('refused uploads raced by the trigger (5 of 5): none processed, each tagged once by its verdict', async () => {
    const grant = await grantFor('mallory', { contentType: 'image/png', size: 100 });
    const keys = Array.from({ length: 5 }, (_, i) => `${grant.keyPrefix}race-${i}.png`);
    const statuses = await Promise.all(keys.map((key) => upload(grant, key, png)));
    expect(statuses).toEqual(keys.map(() => 203));
    await e2e.stack.cloud.fc.idle();
    for (const key of keys) {
      expect((await e2e.root.getObjectTagging(key)).tag).toEqual({
        'upcall-status': 'rejected',
        'upcall-reason': 'SizeExceedsTicket',
      });
      const listed = await e2e.root.listV2({ prefix: `derived/${key}/`, 'max-keys': '10' }, {});
      expect(listed.objects ?? []).toEqual([]);
    }
  });

  it('accepted uploads raced by the trigger: each processed exactly once', async () => {
    const grant = await grantFor('alice', { contentType: 'image/png' });
    const keys = Array.from({ length: 3 }, (_, i) => `${grant.keyPrefix}raced-${i}.png`);
    expect(await Promise.all(keys.map((key) => upload(grant, key, png)))).toEqual(keys.map(() => 200));
    await e2e.stack.cloud.fc.idle();
    for (const key of keys) {
      const manifestKey = `derived/${key}/${await etagOf(key)}/manifest.json`;
      const manifest = await readJson<MediaManifest>(e2e.root, manifestKey);
      expect(manifest).toMatchObject({ status: 'succeeded', attempt: 1 });
      const runs = e2e.stack.cloud.fc
        .invocations('upcall-media-image')
        .filter((record) => record.taskId === manifest.taskId && record.status === 'succeeded');
      expect(runs).toHaveLength(1);
    }
  });

  it('with the callback endpoint down: the CLI reports the 203, and the trigger path processes the upload', async () => {
    const image = join(e2e.dataDir, 'photo.png');
    await writeFile(image, png);
    await closeServer(e2e.stack.servers.callback);
    const run = await e2e.upload([image, '--user', 'erin']);
    expect(run.code).toBe(EXIT_CODES.callback);
    expect(run.stderr).toMatch(/uploads\/erin\/photo\.png/);

    const etag = await etagOf('uploads/erin/photo.png');
    const manifestKey = `derived/uploads/erin/photo.png/${etag}/manifest.json`;
    await waitForObject(e2e.root, manifestKey);
    const manifest = await readJson<MediaManifest>(e2e.root, manifestKey);
    expect(manifest).toMatchObject({ status: 'succeeded', source: 'trigger', etag });
    expect(manifest.outputs.map((o) => [o.width, o.height])).toEqual([
      [96, 64],
      [64, 43],
    ]);
  });
});
