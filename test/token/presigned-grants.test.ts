/**
 * The grants that cost no AssumeRole, end to end on the dev stack with plain HTTP clients (fetch, node:http): a
 * presigned PUT, and a presigned multipart upload interrupted and resumed, each accepted by the callback and
 * processed; what their signatures refuse (a dropped callback, a changed type, an extra x-oss-* header, another
 * user's prefix or ticket); and the size, which no signature can hold, refused by the callback.
 */
import { request as httpRequest } from 'node:http';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type CallbackAnswer, TICKET_METADATA_HEADER } from '../../shared/callback-contract.js';
import { compileSchema } from '../../shared/schema.js';
import {
  type MultipartCompleteGrant,
  MultipartCompleteGrantSchema,
  type MultipartGrant,
  MultipartGrantSchema,
  type MultipartPartsGrant,
  MultipartPartsGrantSchema,
  type PutGrant,
  PutGrantSchema,
  type SignedRequest,
} from '../../shared/token-contract.js';
import { useE2eStack, waitForObject } from '../helpers/dev-stack.js';

const e2e = useE2eStack();

async function post(user: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(e2e.stack.info.token.url, {
    method: 'POST',
    headers: { authorization: `Bearer ${await e2e.stack.userToken(user)}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function grant<T>(user: string, body: object, schema: Parameters<typeof compileSchema>[0]): Promise<T> {
  const { status, json } = await post(user, body);
  expect(status, JSON.stringify(json)).toBe(200);
  const checked = compileSchema(schema).validate(json);
  expect(checked.ok, JSON.stringify(checked)).toBe(true);
  return json as T;
}

/** Send a presigned request as told, with optional changes to its headers. */
function send(signed: SignedRequest, body: Buffer | string, headers = signed.headers) {
  return fetch(signed.url, { method: signed.method, headers, body });
}

/** A noisy PNG (noise keeps it from compressing below the size asked for). */
async function png(width: number, height: number): Promise<Buffer> {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#336699',
      noise: { type: 'gaussian', mean: 128, sigma: 60 },
    },
  })
    .png()
    .toBuffer();
}

async function expectProcessed(answer: CallbackAnswer, key: string, size: number) {
  expect(answer).toMatchObject({ status: 'accepted', object: { key, size, contentType: 'image/png' } });
  const manifestKey = answer.jobs[0]?.manifestKey ?? '';
  await waitForObject(e2e.root, manifestKey, 60_000);
  const manifest = JSON.parse((await e2e.root.get(manifestKey)).content.toString()) as { status: string };
  expect(manifest.status).toBe('succeeded');
}

describe('put: a presigned PUT URL, the callback and ticket inside its signature', () => {
  it('uploads with node:http as told; the callback accepts it and the media function processes it', async () => {
    const image = await png(64, 48);
    const put = await grant<PutGrant>(
      'carol',
      { grant: 'put', contentType: 'image/png', fileName: 'cat.png', size: image.length },
      PutGrantSchema,
    );
    expect(put.key).toMatch(/^uploads\/carol\/[0-9a-f-]{36}\/cat\.png$/);
    expect(Object.keys(put.put.headers).sort()).toEqual(
      ['content-type', 'x-oss-callback', 'x-oss-callback-var', TICKET_METADATA_HEADER].sort(),
    );
    expect(Date.parse(put.put.expiration) - Date.now()).toBeLessThanOrEqual(15 * 60 * 1000);

    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const outgoing = httpRequest(put.put.url, { method: 'PUT', headers: put.put.headers }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      outgoing.on('error', reject);
      outgoing.end(image);
    });
    expect(answer.status, answer.body).toBe(200);
    await expectProcessed(JSON.parse(answer.body) as CallbackAnswer, put.key, image.length);
    const head = await e2e.root.head(put.key);
    expect((head.res.headers as Record<string, string>)[TICKET_METADATA_HEADER]).toBe(
      put.put.headers[TICKET_METADATA_HEADER],
    );
  });

  it('is refused by OSS without the callback, with another type, or with an x-oss-* header of the client’s', async () => {
    const put = await grant<PutGrant>('carol', { grant: 'put', contentType: 'image/png' }, PutGrantSchema);
    const { 'x-oss-callback': _dropped, ...withoutCallback } = put.put.headers;
    const attempts = [
      withoutCallback,
      { ...put.put.headers, 'content-type': 'text/html' },
      { ...put.put.headers, 'x-oss-tagging': 'upcall-status=accepted' },
      { ...put.put.headers, [TICKET_METADATA_HEADER]: 'forged' },
    ];
    for (const headers of attempts) {
      const answer = await send(put.put, 'not a png', headers);
      expect(answer.status).toBe(403);
      expect(await answer.text()).toContain('SignatureDoesNotMatch');
    }
    await expect(e2e.root.head(put.key)).rejects.toMatchObject({ status: 404 });
  });

  it('cannot sign a size: a larger upload is stored, refused by the callback (203) and tagged', async () => {
    const image = await png(64, 48);
    const put = await grant<PutGrant>(
      'carol',
      { grant: 'put', contentType: 'image/png', size: image.length - 1 },
      PutGrantSchema,
    );
    const answer = await send(put.put, image);
    expect(answer.status).toBe(203);
    expect(await answer.text()).toContain('CallbackFailed');
    expect((await e2e.root.getObjectTagging(put.key)).tag).toEqual({
      'upcall-status': 'rejected',
      'upcall-reason': 'SizeExceedsTicket',
    });
  });
});

describe('multipart: started by the token function, parts and Complete presigned', () => {
  const partsXml = (parts: Array<{ partNumber: number; etag: string }>) =>
    `<CompleteMultipartUpload>${parts
      .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${p.etag}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;

  it('uploads a part, is interrupted, resumes from ListParts, completes; the callback accepts it', async () => {
    const image = await png(320, 320);
    const split = 150 * 1024;
    expect(image.length).toBeGreaterThan(split + 1024);
    const started = await grant<MultipartGrant>(
      'dave',
      { grant: 'multipart', contentType: 'image/png', fileName: 'big.png', size: image.length },
      MultipartGrantSchema,
    );
    expect(started).toMatchObject({ keyPrefix: 'uploads/dave/', partSize: 8 * 1024 * 1024, maxParts: 1 });
    const target = { key: started.key, uploadId: started.uploadId };

    const first = await grant<MultipartPartsGrant>(
      'dave',
      { grant: 'multipart-parts', ...target, partNumbers: [1, 2] },
      MultipartPartsGrantSchema,
    );
    expect(first.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    expect(first.parts[0]?.put.headers).toEqual({});
    const part1 = await send(first.parts[0]?.put as SignedRequest, image.subarray(0, split));
    expect(part1.status, await part1.text()).toBe(200);
    // Interrupted here: the client lost its state. It asks again and learns from ListParts what OSS has.
    const again = await grant<MultipartPartsGrant>(
      'dave',
      { grant: 'multipart-parts', ...target, partNumbers: [2] },
      MultipartPartsGrantSchema,
    );
    const list = await fetch(again.listParts.url, { headers: again.listParts.headers });
    const listing = await list.text();
    expect(list.status, listing).toBe(200);
    const have = [...listing.matchAll(/<PartNumber>(\d+)<\/PartNumber>[\s\S]*?<ETag>([^<]+)<\/ETag>/g)].map(
      ([, n, etag]) => ({ partNumber: Number(n), etag: etag as string }),
    );
    expect(have.map((p) => p.partNumber)).toEqual([1]);
    const part2 = await send(again.parts[0]?.put as SignedRequest, image.subarray(split));
    expect(part2.status).toBe(200);
    const parts = [...have, { partNumber: 2, etag: part2.headers.get('etag') ?? '' }];

    const done = await grant<MultipartCompleteGrant>(
      'dave',
      { grant: 'multipart-complete', ...target, ticket: started.ticket },
      MultipartCompleteGrantSchema,
    );
    // The callback is inside the Complete's signature: dropping it is refused.
    const { 'x-oss-callback': _dropped, ...withoutCallback } = done.complete.headers;
    const stripped = await send(done.complete, partsXml(parts), withoutCallback);
    expect(stripped.status).toBe(403);
    const completed = await send(done.complete, partsXml(parts));
    const answer = await completed.text();
    expect(completed.status, answer).toBe(200);
    await expectProcessed(JSON.parse(answer) as CallbackAnswer, started.key, image.length);
    const head = await e2e.root.head(started.key);
    expect((head.res.headers as Record<string, string>)[TICKET_METADATA_HEADER]).toBe(started.ticket);
  });

  it('signs follow-ups only for the caller’s own prefix and ticket', async () => {
    const erin = await grant<MultipartGrant>(
      'erin',
      { grant: 'multipart', contentType: 'image/png' },
      MultipartGrantSchema,
    );
    const target = { key: erin.key, uploadId: erin.uploadId };
    const parts = await post('frank', { grant: 'multipart-parts', ...target, partNumbers: [1] });
    expect(parts).toMatchObject({ status: 403, json: { error: { code: 'KeyOutsidePrefix' } } });
    const complete = await post('frank', { grant: 'multipart-complete', ...target, ticket: erin.ticket });
    expect(complete).toMatchObject({ status: 403, json: { error: { code: 'KeyOutsidePrefix' } } });
    // Frank's own key with Erin's ticket.
    const frank = await grant<MultipartGrant>(
      'frank',
      { grant: 'multipart', contentType: 'image/png' },
      MultipartGrantSchema,
    );
    const stolen = await post('frank', {
      grant: 'multipart-complete',
      key: frank.key,
      uploadId: frank.uploadId,
      ticket: erin.ticket,
    });
    expect(stolen).toMatchObject({ status: 403, json: { error: { code: 'TicketNotYours' } } });
    const dotted = await post('frank', {
      grant: 'multipart-parts',
      key: 'uploads/frank/../erin/x.png',
      uploadId: frank.uploadId,
      partNumbers: [1],
    });
    expect(dotted).toMatchObject({ status: 400, json: { error: { code: 'InvalidKey' } } });
  });
});
