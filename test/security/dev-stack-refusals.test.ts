/**
 * End to end, the refusals: on the dev stack with real clients (ali-oss with the token's credentials, a multipart
 * form POST, plain HTTP for the forger), a user cannot reach another user's prefix or outputs, forged and tampered
 * callbacks are refused with the object kept and marked, and with the callback endpoint down the uploader sees OSS's
 * 203 while the OSS trigger still gets the upload processed.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../cli/upload-command.js';
import { grantClient, requestToken, uploadFile } from '../../cli/uploader.js';
import { closeServer } from '../../local/listen.js';
import { generateCallbackSigningKey } from '../../local/oss/callback-signing.js';
import { signedCallbackRequest } from '../../local/oss/signed-callback.js';
import { CALLBACK_BODY_TEMPLATE, TICKET_VARIABLE } from '../../shared/callback-contract.js';
import type { MediaManifest } from '../../shared/media-manifest.js';
import type { FormGrant, TokenResponse } from '../../shared/token-contract.js';
import { type E2eStack, startE2eStack, waitForObject } from '../helpers/dev-stack.js';
import { readJson } from '../helpers/oss-clients.js';

let e2e: E2eStack;
let image: string;

beforeAll(async () => {
  e2e = await startE2eStack();
  image = join(e2e.dataDir, 'photo.png');
  await writeFile(
    image,
    await sharp({ create: { width: 96, height: 64, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer(),
  );
});
afterAll(() => e2e?.close());

async function grantFor(user: string, wanted: object = {}): Promise<TokenResponse> {
  return requestToken(e2e.stack.info.token.url, await e2e.stack.userToken(user), wanted);
}

async function formGrantFor(user: string, contentType: string): Promise<FormGrant> {
  const response = await fetch(e2e.stack.info.token.url, {
    method: 'POST',
    headers: { authorization: `Bearer ${await e2e.stack.userToken(user)}` },
    body: JSON.stringify({ grant: 'form', contentType }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as FormGrant;
}

const statusOf = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ status: 200, code: 'none' }),
    (error: { status?: number; code?: string }) => ({ status: error.status, code: error.code }),
  );

async function tags(key: string): Promise<Record<string, string>> {
  return (await e2e.root.getObjectTagging(key)).tag;
}

describe('the dev stack refuses what it must', () => {
  it('keeps a second user out of the first user’s prefix and outputs', async () => {
    const alice = await grantFor('alice');
    const { answer } = await uploadFile(grantClient(alice), alice, image, {
      key: `${alice.keyPrefix}photo.png`,
      contentType: 'image/png',
      multipartThresholdBytes: 8 * 1024 * 1024,
      partSizeBytes: 1024 * 1024,
    });
    const manifestKey = answer.jobs[0]?.manifestKey ?? '';
    await waitForObject(e2e.root, manifestKey);
    // Alice reads her own outputs with her token's credentials.
    expect((await grantClient(alice).get(manifestKey)).res.status).toBe(200);

    const bob = await grantFor('bob');
    const bobClient = grantClient(bob);
    expect(bob.keyPrefix).toBe('uploads/bob/');
    // Writing into Alice's prefix, with ali-oss…
    expect(await statusOf(bobClient.put('uploads/alice/intruder.png', image))).toEqual({
      status: 403,
      code: 'AccessDenied',
    });
    // …or with his signed form, the key moved to her prefix.
    const { form } = await formGrantFor('bob', 'image/png');
    const data = new FormData();
    for (const [name, value] of Object.entries({ ...form.fields, key: 'uploads/alice/form.png' })) {
      data.append(name, value);
    }
    data.append('file', new Blob([await sharp(image).toBuffer()], { type: 'image/png' }), 'form.png');
    const posted = await fetch(form.url, { method: 'POST', body: data });
    expect(posted.status).toBe(403);
    expect(await posted.text()).toContain('<Code>AccessDenied</Code>');
    // Reading her outputs, or her upload itself.
    expect(await statusOf(bobClient.get(manifestKey))).toEqual({ status: 403, code: 'AccessDenied' });
    expect(await statusOf(bobClient.get(answer.object.key))).toEqual({ status: 403, code: 'AccessDenied' });
    // Nothing of Bob's landed in her prefix.
    for (const key of ['uploads/alice/intruder.png', 'uploads/alice/form.png']) {
      expect(await statusOf(e2e.root.head(key))).toEqual({ status: 404, code: 'NoSuchKey' });
    }
  });

  it('refuses a forged callback (own key, real ticket) and a tampered template (203, object kept, untouched)', async () => {
    const alice = await grantFor('alice');
    const { answer } = await uploadFile(grantClient(alice), alice, image, {
      key: `${alice.keyPrefix}real.png`,
      contentType: 'image/png',
      multipartThresholdBytes: 8 * 1024 * 1024,
      partSizeBytes: 1024 * 1024,
    });
    const attacker = generateCallbackSigningKey();
    const forged = (keyUrl: string) => {
      const request = signedCallbackRequest(attacker.privateKey, keyUrl, {
        bucket: answer.object.bucket,
        object: answer.object.key,
        etag: answer.object.etag,
        size: String(answer.object.size),
        mimeType: 'image/png',
        ticket: alice.callback.callbackVars[TICKET_VARIABLE],
      });
      return fetch(e2e.stack.info.callback.url, {
        method: 'POST',
        headers: request.headers as Record<string, string>,
        body: request.body,
      }).then(async (response) => ({
        status: response.status,
        code: ((await response.json()) as { error: { code: string } }).error.code,
      }));
    };
    expect(await forged(e2e.stack.info.oss.publicKeyUrl)).toEqual({ status: 403, code: 'InvalidSignature' });
    expect(await forged('http://127.0.0.1:9/attacker.pem')).toEqual({
      status: 403,
      code: 'UntrustedPublicKeyUrl',
    });
    // Refused before anything was done: the real upload is not marked.
    expect(await tags(answer.object.key)).toEqual({});

    // The uploader rewrites the template to claim another size: OSS signs it, the cross-check refuses the callback.
    // It proves nothing about the object, so nothing is written to it: the object is judged on its own ticket.
    const key = `${alice.keyPrefix}inflated.png`;
    const tampered = await statusOf(
      grantClient(alice).put(key, image, {
        mime: 'image/png',
        headers: alice.uploadHeaders,
        callback: { ...alice.callback.aliOss, body: CALLBACK_BODY_TEMPLATE.replace('${size}', '99999') },
      } as Parameters<ReturnType<typeof grantClient>['put']>[2]),
    );
    expect(tampered).toEqual({ status: 203, code: 'CallbackFailed' });
    expect((await e2e.root.head(key)).status).toBe(200);
    expect(await tags(key)).toEqual({});
  });

  it('with the callback endpoint down: the CLI reports the 203, and the trigger path processes the upload', async () => {
    await closeServer(e2e.stack.servers.callback);
    const run = await e2e.upload([image, '--user', 'erin']);
    expect(run.code).toBe(EXIT_CODES.callback);
    expect(run.stderr).toMatch(
      /OSS stored uploads\/erin\/photo\.png, but its callback failed \(203 CallbackFailed/,
    );

    const head = await e2e.root.head('uploads/erin/photo.png');
    const etag = String((head.res.headers as Record<string, string>).etag).replaceAll('"', '');
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
