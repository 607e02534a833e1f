/**
 * Attacker capability: a signed-in user who keeps the STS credentials a grant returns and talks to OSS directly —
 * no callback, their own headers, any content. On the dev stack with the real ali-oss client. What must hold: only
 * an object its own valid ticket grants is ever processed, whichever path sees it (here the OSS-trigger backstop,
 * since these uploads send no callback); everything else is tagged `rejected` with the reason and never processed;
 * upcall's tags are upcall's alone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { MediaManifest } from '../../shared/media-manifest.js';
import type { FormGrant, TokenResponse } from '../../shared/token-contract.js';
import { grantClient, requestToken } from '../helpers/ali-oss-app.js';
import { useE2eStack, waitForObject } from '../helpers/dev-stack.js';
import { solidPng } from '../helpers/media.js';
import { readJson } from '../helpers/oss-clients.js';

let png: Buffer;

const e2e = useE2eStack({ triggerDelayMs: 0 });
beforeAll(async () => {
  png = await solidPng(40, 30, '#cc3366');
});

/** Mallory's grant for one small PNG: the limits every attack below tries to get around. */
async function smallPngGrant(): Promise<TokenResponse> {
  const token = await e2e.stack.userToken('mallory');
  return requestToken(e2e.stack.info.token.url, token, { contentType: 'image/png', size: 1000 });
}

async function tagsOnceJudged(key: string, timeoutMs = 15_000): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { tag } = await e2e.root.getObjectTagging(key);
    if (tag['upcall-status'] || Date.now() > deadline) return tag;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function etagOf(key: string): Promise<string> {
  const head = await e2e.root.head(key);
  return String((head.res.headers as Record<string, string>).etag).replaceAll('"', '');
}

/** No manifest, and no thumbnail, for this version, after the trigger path had its chance. */
async function expectUnprocessed(key: string) {
  await e2e.stack.cloud.fc.idle();
  const prefix = `derived/${key}/`;
  const listed = await e2e.root.listV2({ prefix, 'max-keys': '10' }, {});
  expect(listed.objects ?? []).toEqual([]);
}

const putAs = (grant: TokenResponse, key: string, body: Buffer, options: object) =>
  grantClient(grant)
    .put(key, body, options)
    .then(
      (result) => ({ status: result.res.status, code: 'none' }),
      (error: { status?: number; code?: string }) => ({ status: error.status, code: error.code }),
    );

describe('an uploader holding raw STS credentials', () => {
  it('control: an upload its ticket grants, sent without a callback, is processed by the trigger path', async () => {
    const grant = await smallPngGrant();
    const key = `${grant.keyPrefix}honest.png`;
    expect(await putAs(grant, key, png, { mime: 'image/png', headers: grant.uploadHeaders })).toEqual({
      status: 200,
      code: 'none',
    });
    const manifestKey = `derived/${key}/${await etagOf(key)}/manifest.json`;
    await waitForObject(e2e.root, manifestKey);
    const manifest = (await readJson(e2e.root, manifestKey)) as MediaManifest;
    expect(manifest).toMatchObject({ status: 'succeeded', source: 'trigger' });
  });

  /** The grant's ticket with its claims widened (its signature kept): what a forger would send. */
  const forgedTicket = (grant: TokenResponse) => {
    const [name, ticket] = Object.entries(grant.uploadHeaders)[0] ?? ['', ''];
    const [header, , signature] = ticket.split('.');
    const widened = Buffer.from(JSON.stringify({ sub: 'mallory', max: 10 ** 9 })).toString('base64url');
    return { [name]: `${header}.${widened}.${signature}` };
  };

  it.each([
    [
      'a video under an image-only ticket, no callback',
      'clip.mp4',
      () => Buffer.alloc(600, 1),
      (grant: TokenResponse) => ({ mime: 'video/mp4', headers: grant.uploadHeaders }),
      'ContentTypeNotAllowed',
    ],
    [
      'more bytes than the ticket allows, no callback',
      'big.png',
      () => Buffer.concat([png, Buffer.alloc(2000)]),
      (grant: TokenResponse) => ({ mime: 'image/png', headers: grant.uploadHeaders }),
      'SizeExceedsTicket',
    ],
    [
      'an upload that leaves the ticket out',
      'no-ticket.png',
      () => png,
      () => ({ mime: 'image/png' }),
      'TicketMissing',
    ],
    [
      'an upload with a forged ticket',
      'forged.png',
      () => png,
      (grant: TokenResponse) => ({ mime: 'image/png', headers: forgedTicket(grant) }),
      'TicketInvalid',
    ],
  ])('%s: tagged rejected, never processed', async (_name, file, body, options, code) => {
    const grant = await smallPngGrant();
    const key = `${grant.keyPrefix}${file}`;
    expect((await putAs(grant, key, body(), options(grant))).status).toBe(200);
    expect(await tagsOnceJudged(key)).toEqual({ 'upcall-status': 'rejected', 'upcall-reason': code });
    await expectUnprocessed(key);
  });

  it('cannot write upcall’s tags: tagging at upload and PutObjectTagging are both refused', async () => {
    const grant = await smallPngGrant();
    const key = `${grant.keyPrefix}self-accepted.png`;
    const tagged = await putAs(grant, key, png, {
      mime: 'image/png',
      headers: { ...grant.uploadHeaders, 'x-oss-tagging': 'upcall-status=accepted' },
    });
    expect(tagged).toEqual({ status: 403, code: 'AccessDenied' });
    expect((await putAs(grant, key, png, { mime: 'image/png', headers: grant.uploadHeaders })).status).toBe(
      200,
    );
    const retag = await grantClient(grant)
      .putObjectTagging(key, { 'upcall-status': 'accepted' })
      .then(
        () => 'allowed',
        (error: { status?: number }) => error.status,
      );
    expect(retag).toBe(403);
  });

  it('cannot reach another user’s prefix or outputs: writes, signed forms and reads are refused', async () => {
    const alice = await requestToken(e2e.stack.info.token.url, await e2e.stack.userToken('alice'), {
      contentType: 'image/png',
    });
    const aliceKey = `${alice.keyPrefix}photo.png`;
    expect(
      (await putAs(alice, aliceKey, png, { mime: 'image/png', headers: alice.uploadHeaders })).status,
    ).toBe(200);
    const manifestKey = `derived/${aliceKey}/${await etagOf(aliceKey)}/manifest.json`;
    await waitForObject(e2e.root, manifestKey);
    // Alice reads her own outputs with her grant's credentials.
    expect((await grantClient(alice).get(manifestKey)).res.status).toBe(200);

    const bob = await smallPngGrant();
    const bobClient = grantClient(bob);
    const refused = (promise: Promise<unknown>) =>
      promise.then(
        () => 'allowed',
        (error: { status?: number; code?: string }) => `${error.status} ${error.code}`,
      );
    // Writing into Alice's prefix, with ali-oss…
    expect(await refused(bobClient.put('uploads/alice/intruder.png', png))).toBe('403 AccessDenied');
    // …or with a signed form, the key moved to her prefix.
    const formResponse = await fetch(e2e.stack.info.token.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${await e2e.stack.userToken('mallory')}` },
      body: JSON.stringify({ grant: 'form', contentType: 'image/png' }),
    });
    const { form } = (await formResponse.json()) as FormGrant;
    const data = new FormData();
    for (const [name, value] of Object.entries({ ...form.fields, key: 'uploads/alice/form.png' })) {
      data.append(name, value);
    }
    data.append('file', new Blob([png], { type: 'image/png' }), 'form.png');
    const posted = await fetch(form.url, { method: 'POST', body: data });
    expect(posted.status).toBe(403);
    expect(await posted.text()).toContain('<Code>AccessDenied</Code>');
    // Reading her outputs, or her upload itself.
    expect(await refused(bobClient.get(manifestKey))).toBe('403 AccessDenied');
    expect(await refused(bobClient.get(aliceKey))).toBe('403 AccessDenied');
    for (const key of ['uploads/alice/intruder.png', 'uploads/alice/form.png']) {
      expect(await refused(e2e.root.head(key))).toBe('404 NoSuchKey');
    }
  });
});
