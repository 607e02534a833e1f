/**
 * Attacker capability: writes the callback — its template and variables (the uploader chooses them), or a whole
 * request signed with a key of their own. On the dev stack with the real ali-oss client and plain HTTP. What must
 * hold: only OSS's signature under OSS's key is believed; every value in the body is a claim checked against
 * HeadObject; a callback that is not about the stored version, or not the owner's, changes nothing and learns
 * nothing; and the object is judged by its own ticket whatever the callback said.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCallbackSigningKey } from '../../local/oss/callback-signing.js';
import { signedCallbackRequest, type UploadVariables } from '../../local/oss/signed-callback.js';
import { CALLBACK_BODY_TEMPLATE, TICKET_VARIABLE } from '../../shared/callback-contract.js';
import type { MediaManifest } from '../../shared/media-manifest.js';
import type { TokenResponse } from '../../shared/token-contract.js';
import { grantClient, requestToken } from '../helpers/ali-oss-app.js';
import { useE2eStack, waitForObject } from '../helpers/dev-stack.js';
import { solidPng } from '../helpers/media.js';
import { readJson } from '../helpers/oss-clients.js';

let png: Buffer;

const e2e = useE2eStack();
beforeAll(async () => {
  png = await solidPng(96, 64, '#3366cc');
});

const grantFor = async (user: string): Promise<TokenResponse> =>
  requestToken(e2e.stack.info.token.url, await e2e.stack.userToken(user), { contentType: 'image/png' });

const tags = async (key: string) => (await e2e.root.getObjectTagging(key)).tag;

/** Upload as the grant asks, with the callback's template rewritten by `rewrite`; OSS's answer status and code. */
async function uploadWithTemplate(grant: TokenResponse, key: string, rewrite: (template: string) => string) {
  return grantClient(grant)
    .put(key, png, {
      mime: 'image/png',
      headers: grant.uploadHeaders,
      callback: { ...grant.callback.aliOss, body: rewrite(CALLBACK_BODY_TEMPLATE) },
    } as Parameters<ReturnType<typeof grantClient>['put']>[2])
    .then(
      (result) => ({ status: result.res.status, code: 'none', data: result.data as Record<string, unknown> }),
      (error: { status?: number; code?: string }) => ({ status: error.status, code: error.code, data: null }),
    );
}

/** POST a callback signed with `key` straight to the callback function; its status and error code. */
async function postSigned(
  key: ReturnType<typeof generateCallbackSigningKey>,
  keyUrl: string,
  vars: UploadVariables,
) {
  const request = signedCallbackRequest(key.privateKey, keyUrl, vars);
  const response = await fetch(e2e.stack.info.callback.url, {
    method: 'POST',
    headers: request.headers as Record<string, string>,
    body: request.body,
  });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, code: body.error?.code ?? 'none' };
}

describe('an uploader who writes the callback', () => {
  it('signs a callback with their own key: refused under OSS’s key URL, and under any other', async () => {
    const alice = await grantFor('alice');
    const key = `${alice.keyPrefix}real.png`;
    const upload = await uploadWithTemplate(alice, key, (template) => template);
    expect(upload.status).toBe(200);
    const object = upload.data?.object as { etag: string; size: number };
    const attacker = generateCallbackSigningKey();
    const vars: UploadVariables = {
      bucket: e2e.stack.info.bucket,
      object: key,
      etag: object.etag,
      size: String(object.size),
      mimeType: 'image/png',
      ticket: alice.callback.callbackVars[TICKET_VARIABLE],
    };
    const keyUrl = e2e.stack.info.oss.publicKeyUrl;
    expect(await postSigned(attacker, keyUrl, vars)).toEqual({ status: 403, code: 'InvalidSignature' });
    for (const elsewhere of [
      'http://127.0.0.1:9/attacker.pem',
      keyUrl.replace(/[^/]+$/, '../../attacker.pem'),
    ]) {
      expect(await postSigned(attacker, elsewhere, vars)).toEqual({
        status: 403,
        code: 'UntrustedPublicKeyUrl',
      });
    }
    expect(await tags(key)).toEqual({});
  });

  it.each([
    ['claims another size', (t: string) => t.replace('${size}', '99999')],
    ['claims another content type', (t: string) => t.replace('${mimeType}', 'image%2Fgif')],
    ['claims another version', (t: string) => t.replace('${etag}', '0CC175B9C0F1B6A831C399E269772661')],
    ['drops its ticket', (t: string) => t.replace('${x:ticket}', '')],
  ])('%s: refused, the object untouched — and then judged on its own ticket', async (name, rewrite) => {
    const alice = await grantFor('alice');
    const key = `${alice.keyPrefix}${name.replaceAll(' ', '-')}.png`;
    expect(await uploadWithTemplate(alice, key, rewrite)).toMatchObject({
      status: 203,
      code: 'CallbackFailed',
    });
    expect((await e2e.root.head(key)).status).toBe(200);
    // The object itself is as granted: the OSS-trigger backstop processes it; nobody tagged it.
    const etag = String(((await e2e.root.head(key)).res.headers as Record<string, string>).etag).replaceAll(
      '"',
      '',
    );
    const manifestKey = `derived/${key}/${etag}/manifest.json`;
    await waitForObject(e2e.root, manifestKey);
    expect(await readJson<MediaManifest>(e2e.root, manifestKey)).toMatchObject({
      status: 'succeeded',
      source: 'trigger',
    });
    expect((await tags(key))['upcall-status']).toBeUndefined();
  });

  it('names another user’s upload (even with its real etag): refused, nothing tagged or disclosed', async () => {
    const bob = await grantFor('bob');
    const bobsKey = `${bob.keyPrefix}private.png`;
    const bobs = await uploadWithTemplate(bob, bobsKey, (template) => template);
    expect(bobs.status).toBe(200);
    const bobsObject = bobs.data?.object as { etag: string } | undefined;
    const bobsEtag = bobsObject?.etag ?? '';
    const alice = await grantFor('alice');
    const swapped = await uploadWithTemplate(alice, `${alice.keyPrefix}swap.png`, (template) =>
      template.replace('${object}', encodeURIComponent(bobsKey)).replace('${etag}', bobsEtag),
    );
    // OSS relays only the status: Alice learns nothing about Bob's object.
    expect(swapped).toMatchObject({ status: 203, code: 'CallbackFailed', data: null });
    expect(await tags(bobsKey)).toEqual({});
  });

  it('claims image dimensions: passed on only as claimedImage; the manifest has the measured ones', async () => {
    const alice = await grantFor('alice');
    const key = `${alice.keyPrefix}claimed.png`;
    const upload = await uploadWithTemplate(alice, key, (template) =>
      template.replace('${imageInfo.width}', '4000').replace('${imageInfo.height}', '3000'),
    );
    expect(upload.status).toBe(200);
    const answer = upload.data as { object: Record<string, unknown>; jobs: Array<{ manifestKey: string }> };
    expect(answer.object).toMatchObject({ claimedImage: { width: 4000, height: 3000 }, size: png.length });
    expect(answer.object).not.toHaveProperty('image');
    const manifestKey = answer.jobs[0]?.manifestKey ?? '';
    await waitForObject(e2e.root, manifestKey);
    const manifest = await readJson<MediaManifest>(e2e.root, manifestKey);
    expect(manifest.input).toMatchObject({ width: 96, height: 64 });
  });
});
