/**
 * The callback function end to end: the local cloud (OSS with real callbacks, FC), the callback app behind the same
 * node:http edge the dev stack uses, and uploads from the real ali-oss client with a user's STS credentials.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OSS from 'ali-oss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import { CALLBACK_BODY_TEMPLATE } from '../../shared/callback-contract.js';
import { parseTicketKeyring } from '../../shared/upload-ticket.js';
import { type CallbackServer, startCallbackServer } from '../helpers/callback-server.js';
import { solidPng } from '../helpers/media.js';
import { rootOssClient, userOssClient } from '../helpers/oss-clients.js';
import { ticketedUpload, userTicket } from '../helpers/upload-tickets.js';

const BUCKET = 'upcall-e2e';
const TICKET_KEYS = `k1:${'e'.repeat(40)}`;
const keyring = parseTicketKeyring(TICKET_KEYS);

let dataDir: string;
let cloud: LocalCloud;
let callback: CallbackServer;
const mediaEvents: unknown[] = [];

/** The callback function with this stack's settings; `fcEndpoint` is where it dispatches media jobs. */
const startCallback = (fcEndpoint: string) =>
  startCallbackServer(cloud, {
    UPCALL_BUCKET: BUCKET,
    UPCALL_TICKET_KEYS: TICKET_KEYS,
    UPCALL_FC_ENDPOINT: fcEndpoint,
  });
// Multipart uploads need their two extra actions in the session policy.
const uploaderClient = (user: string) =>
  userOssClient(cloud, BUCKET, user, ['oss:PutObject', 'oss:AbortMultipartUpload', 'oss:ListParts']);
const rootClient = () => rootOssClient(cloud, BUCKET);
const ticketFor = (user: string) =>
  userTicket(keyring, user, { maxBytes: 5_000_000, contentTypes: ['image/*', 'video/*'] });

const asGranted = (ticket: string, url = callback.url) => ticketedUpload(ticket, url);

async function png(width: number, height: number): Promise<Buffer> {
  return solidPng(width, height, { r: 200, g: 40, b: 90 });
}

async function tagsOf(key: string): Promise<Record<string, string>> {
  return (await rootClient().getObjectTagging(key)).tag;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'upcall-'));
  cloud = await startLocalCloud({ dataDir, buckets: [BUCKET] });
  // Both media functions the callback queues on by default (images, videos), recording what they are sent.
  for (const name of ['upcall-media-image', 'upcall-media-video']) {
    cloud.fc.register(
      name,
      async (event) => {
        mediaEvents.push(JSON.parse(event.toString()));
      },
      { roleArn: cloud.info.roles.media },
    );
  }
  callback = await startCallback(cloud.info.fc.endpoint);
});

afterAll(async () => {
  await callback?.close();
  await cloud?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('callback function through the local cloud', () => {
  it('PutObject: 200, the answer reaches ali-oss as result.data, one media job queued', async () => {
    const image = await png(64, 48);
    const result = await uploaderClient('alice').put('uploads/alice/put.png', image, {
      headers: { 'Content-Type': 'image/png' },
      ...asGranted(await ticketFor('alice')),
    } as OSS.PutObjectOptions);
    const answer = result.data as Record<string, unknown> & { jobs: Array<{ taskId: string; kind: string }> };
    expect(result.res.status).toBe(200);
    expect(answer).toMatchObject({
      status: 'accepted',
      userId: 'alice',
      object: {
        key: 'uploads/alice/put.png',
        size: image.length,
        contentType: 'image/png',
        claimedImage: { width: 64, height: 48 },
      },
    });
    expect(answer.jobs).toHaveLength(1);
    await cloud.fc.idle();
    expect(
      cloud.fc.invocations('upcall-media-image').filter((i) => i.taskId === answer.jobs[0]?.taskId),
    ).toHaveLength(1);
  });

  it('multipart upload: the callback rides on CompleteMultipartUpload', async () => {
    const data = Buffer.alloc(300 * 1024, 7);
    const result = await uploaderClient('alice').multipartUpload('uploads/alice/clip.mp4', data, {
      partSize: 100 * 1024,
      mime: 'video/mp4',
      ...asGranted(await ticketFor('alice')),
    } as OSS.MultipartUploadOptions);
    const answer = result.data as { object: { etag: string; size: number }; jobs: Array<{ kind: string }> };
    expect(answer.object.etag).toMatch(/^[0-9A-F]{32}-3$/);
    expect(answer.object.size).toBe(data.length);
    expect(answer.jobs[0]?.kind).toBe('video');
  });

  it('a replayed callback gets the same answer and queues nothing new', async () => {
    const before = callback.captured.length;
    await uploaderClient('alice').put('uploads/alice/replay.png', await png(8, 8), {
      headers: { 'Content-Type': 'image/png' },
      ...asGranted(await ticketFor('alice')),
    } as OSS.PutObjectOptions);
    const original = callback.captured[before]!;
    await cloud.fc.idle();
    const invocationsBefore = cloud.fc.invocations('upcall-media-image').length;
    const replay = async () => {
      const response = await fetch(`${new URL(callback.url).origin}${original.path}`, {
        method: 'POST',
        headers: {
          authorization: original.headers.authorization!,
          'x-oss-pub-key-url': original.headers['x-oss-pub-key-url']!,
          'content-type': original.headers['content-type']!,
        },
        body: original.body,
      });
      return { status: response.status, body: await response.json() };
    };
    const first = await replay();
    const second = await replay();
    expect(first.status).toBe(200);
    expect(second).toEqual(first);
    await cloud.fc.idle();
    // FC refused the repeated task id: no new invocation.
    expect(cloud.fc.invocations('upcall-media-image')).toHaveLength(invocationsBefore);
  });

  type Forgery = Parameters<typeof ticketedUpload>[2];
  // A callback that does not describe the stored upload proves nothing: refused, and nothing is written to the object.
  const forgedCallbacks: Array<[string, string, (ticket: string) => Forgery, string]> = [
    [
      'swaps ${object} for another user’s key',
      'uploads/alice/swap.png',
      () => ({ body: CALLBACK_BODY_TEMPLATE.replace('${object}', 'uploads%2Fbob%2Fdog.png') }),
      'ObjectNotFound',
    ],
    [
      'inflates ${size}',
      'uploads/alice/inflated.png',
      () => ({ body: CALLBACK_BODY_TEMPLATE.replace('${size}', '99999') }),
      'SizeMismatch',
    ],
    [
      'drops the callback’s ticket',
      'uploads/alice/noticket.png',
      () => ({ callbackTicket: null }),
      'TicketMismatch',
    ],
    [
      'alters the callback’s ticket',
      'uploads/alice/altered.png',
      (ticket) => ({ callbackTicket: `${ticket.slice(0, -4)}AAAA` }),
      'TicketMismatch',
    ],
  ];
  // An upload whose own ticket does not grant it: refused, and marked as the README describes.
  const ungranted: Array<[string, string, (ticket: string) => Forgery, string]> = [
    [
      'stores no ticket',
      'uploads/alice/bare.png',
      () => ({ callbackTicket: null, metaTicket: null }),
      'TicketMissing',
    ],
    [
      'stores an altered ticket',
      'uploads/alice/forged.png',
      (ticket) => ({
        callbackTicket: `${ticket.slice(0, -4)}AAAA`,
        metaTicket: `${ticket.slice(0, -4)}AAAA`,
      }),
      'TicketInvalid',
    ],
  ];
  /** OSS relays only the status: the refusal's code, from the callback replayed as OSS sent it. */
  const replayedCode = async (sent: CallbackServer['captured'][number] | undefined) => {
    if (!sent) return undefined;
    const { authorization, 'x-oss-pub-key-url': keyUrl, 'content-type': type } = sent.headers;
    const response = await fetch(`${new URL(callback.url).origin}${sent.path}`, {
      method: 'POST',
      headers: { authorization: authorization!, 'x-oss-pub-key-url': keyUrl!, 'content-type': type! },
      body: sent.body,
    });
    return ((await response.json()) as { error?: { code: string } }).error?.code;
  };
  const uploadRefused = async (key: string, options: object) => {
    const error = await uploaderClient('alice')
      .put(key, await png(16, 16), {
        headers: { 'Content-Type': 'image/png' },
        ...options,
      } as OSS.PutObjectOptions)
      .then(
        () => null,
        (e: { status?: number; code?: string; message?: string }) => e,
      );
    expect(error).toMatchObject({ status: 203, code: 'CallbackFailed' });
    expect(error?.message).toContain('403');
    // Stored all the same.
    expect((await rootClient().head(key)).status).toBe(200);
  };

  it.each(forgedCallbacks)(
    'an uploader who %s is refused (203); the object is left alone',
    async (_n, key, forge, code) => {
      const ticket = await ticketFor('alice');
      await uploadRefused(key, ticketedUpload(ticket, callback.url, forge(ticket)));
      expect(await tagsOf(key)).toEqual({});
      expect(await replayedCode(callback.captured.at(-1))).toBe(code);
    },
  );

  it.each(ungranted)(
    'an upload that %s is refused (203) and tagged rejected',
    async (_n, key, forge, code) => {
      const ticket = await ticketFor('alice');
      await uploadRefused(key, ticketedUpload(ticket, callback.url, forge(ticket)));
      expect(await tagsOf(key)).toEqual({ 'upcall-status': 'rejected', 'upcall-reason': code });
    },
  );

  it('a second user’s ticket cannot claim the first user’s upload area', async () => {
    await uploadRefused('uploads/alice/mallory.png', asGranted(await ticketFor('mallory')));
    expect(await tagsOf('uploads/alice/mallory.png')).toEqual({
      'upcall-status': 'rejected',
      'upcall-reason': 'KeyOutsidePrefix',
    });
  });

  it('FC unreachable: the client gets 203 and the object stays stored', async () => {
    const unreachable = await startCallback('http://127.0.0.1:9');
    try {
      const error = await uploaderClient('alice')
        .put('uploads/alice/nofc.png', await png(8, 8), {
          headers: { 'Content-Type': 'image/png' },
          ...asGranted(await ticketFor('alice'), unreachable.url),
        } as OSS.PutObjectOptions)
        .then(
          () => null,
          (e: { status?: number; message?: string }) => e,
        );
      expect(error).toMatchObject({ status: 203 });
      expect(error?.message).toContain('503');
      expect((await rootClient().head('uploads/alice/nofc.png')).status).toBe(200);
    } finally {
      await unreachable.close();
    }
  });

  it('answers signature failures, other methods and oversized bodies with clear JSON errors', async () => {
    const unsigned = await fetch(callback.url, { method: 'POST', body: 'bucket=x' });
    expect(unsigned.status).toBe(403);
    expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe('MissingSignature');
    const get = await fetch(callback.url);
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: { code: string } }).error.code).toBe('MethodNotAllowed');
    const big = await fetch(callback.url, { method: 'POST', body: Buffer.alloc(40 * 1024, 0x61) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('BodyTooLarge');
  });
});
