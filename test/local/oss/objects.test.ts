import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc64 } from '../../../local/oss/crc64.js';
import type { ObjectCreatedEvent } from '../../../local/oss/server.js';
import { BUCKET, headersOf, OTHER_BUCKET, ossError, startHarness } from '../../helpers/local-oss.js';
import { useForSuite } from '../../helpers/suite.js';

const md5Hex = (data: Buffer) => createHash('md5').update(data).digest('hex').toUpperCase();

const h = useForSuite(() => startHarness());

describe('simple objects through ali-oss (virtual-hosted addressing)', () => {
  it('puts, heads, gets and deletes, with OSS ETag, CRC-64 and request id', async () => {
    const client = h.client();
    const body = Buffer.from('hello, local OSS');
    const put = await client.put('docs/hello.txt', body);
    expect(put.res.status).toBe(200);
    expect(headersOf(put).etag).toBe(`"${md5Hex(body)}"`);
    expect(headersOf(put)['x-oss-hash-crc64ecma']).toBe(crc64(body));
    expect(headersOf(put)['x-oss-request-id']).toMatch(/^[0-9A-F]{24}$/);

    const head = await client.head('docs/hello.txt');
    expect(headersOf(head)['content-length']).toBe(String(body.length));
    expect(headersOf(head)['content-type']).toBe('text/plain');
    expect(headersOf(head)['x-oss-object-type']).toBe('Normal');

    const got = await client.get('docs/hello.txt');
    expect(Buffer.compare(got.content as Buffer, body)).toBe(0);

    await client.delete('docs/hello.txt');
    expect(await ossError(client.get('docs/hello.txt'))).toMatchObject({ status: 404, code: 'NoSuchKey' });
    expect(await ossError(client.head('docs/hello.txt'))).toMatchObject({ status: 404, code: 'NoSuchKey' });
  });

  it('round-trips Content-Type, Cache-Control, Content-Disposition and x-oss-meta-*', async () => {
    const client = h.client();
    await client.put('meta/data.bin', Buffer.from('x'), {
      mime: 'application/vnd.upcall+json',
      meta: { owner: 'alice', purpose: 'test' },
      headers: { 'Cache-Control': 'max-age=60', 'Content-Disposition': 'attachment; filename="d.bin"' },
    } as never);
    const head = await client.head('meta/data.bin');
    expect(head.meta).toEqual({ owner: 'alice', purpose: 'test' });
    expect(headersOf(head)).toMatchObject({
      'content-type': 'application/vnd.upcall+json',
      'cache-control': 'max-age=60',
      'content-disposition': 'attachment; filename="d.bin"',
    });
  });

  it('serves byte ranges (206) and ignores a range past the end as OSS does (200, whole object)', async () => {
    const client = h.client();
    const body = Buffer.from('0123456789abcdef');
    await client.put('range.txt', body);
    const part = await client.get('range.txt', { headers: { Range: 'bytes=2-5' } });
    expect(part.res.status).toBe(206);
    expect((part.content as Buffer).toString()).toBe('2345');
    expect(headersOf(part)['content-range']).toBe('bytes 2-5/16');
    const suffix = await client.get('range.txt', { headers: { Range: 'bytes=-3' } });
    expect((suffix.content as Buffer).toString()).toBe('def');
    const past = await client.get('range.txt', { headers: { Range: 'bytes=20-30' } });
    expect(past.res.status).toBe(200);
    expect((past.content as Buffer).toString()).toBe(body.toString());
    const standard = await ossError(
      client.get('range.txt', { headers: { Range: 'bytes=20-30', 'x-oss-range-behavior': 'standard' } }),
    );
    expect(standard).toMatchObject({ status: 416, code: 'InvalidRange' });
  });

  it('refuses to overwrite with x-oss-forbid-overwrite: 409 FileAlreadyExists, the first object kept', async () => {
    const client = h.client();
    await client.put('once.txt', Buffer.from('first'), { headers: { 'x-oss-forbid-overwrite': 'true' } });
    const error = await ossError(
      client.put('once.txt', Buffer.from('second'), { headers: { 'x-oss-forbid-overwrite': 'true' } }),
    );
    expect(error).toMatchObject({ status: 409, code: 'FileAlreadyExists', ecCode: '0026-00000201' });
    expect(((await client.get('once.txt')).content as Buffer).toString()).toBe('first');
  });

  it('refuses a body that does not match its Content-MD5 (400 InvalidDigest) and stores nothing', async () => {
    const client = h.client();
    const error = await ossError(
      client.put('digest.txt', Buffer.from('actual'), {
        headers: { 'Content-MD5': createHash('md5').update('other').digest('base64') },
      }),
    );
    expect(error).toMatchObject({ status: 400, code: 'InvalidDigest' });
    expect(await ossError(client.head('digest.txt'))).toMatchObject({ status: 404 });
  });

  it('copies within and across buckets, keeping or replacing metadata', async () => {
    const client = h.client();
    await client.put('copy/src.txt', Buffer.from('copy me'), { meta: { a: '1' } } as never);
    const copied = await client.copy('copy/dst.txt', 'copy/src.txt');
    expect(copied.res.status).toBe(200);
    expect((await client.head('copy/dst.txt')).meta).toEqual({ a: '1' });
    await client.copy('copy/replaced.txt', 'copy/src.txt', { meta: { b: '2' } } as never);
    expect((await client.head('copy/replaced.txt')).meta).toEqual({ b: '2' });
    const other = h.client({ bucket: OTHER_BUCKET });
    await other.copy('from-upcall.txt', `/${BUCKET}/copy/src.txt`);
    expect(((await other.get('from-upcall.txt')).content as Buffer).toString()).toBe('copy me');
    expect(await ossError(client.copy('copy/x.txt', 'copy/missing.txt'))).toMatchObject({
      status: 404,
      code: 'NoSuchKey',
    });
  });

  it('lists with prefix, delimiter, max-keys and continuation', async () => {
    const client = h.client({ bucket: OTHER_BUCKET });
    for (const key of ['l/a.txt', 'l/b.txt', 'l/sub/c.txt', 'l/sub/d.txt', 'l/z.txt', 'm/other.txt']) {
      await client.put(key, Buffer.from(key));
    }
    const top = await client.listV2({ prefix: 'l/', delimiter: '/' }, {});
    expect(top.objects.map((o) => o.name)).toEqual(['l/a.txt', 'l/b.txt', 'l/z.txt']);
    expect(top.prefixes).toEqual(['l/sub/']);
    expect(top.objects[0]).toMatchObject({
      size: 7,
      etag: `"${md5Hex(Buffer.from('l/a.txt'))}"`,
      type: 'Normal',
    });

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.listV2(
        { prefix: 'l/', 'max-keys': '2', ...(token ? { 'continuation-token': token } : {}) },
        {},
      );
      expect(page.objects.length).toBeLessThanOrEqual(2);
      seen.push(...page.objects.map((o) => o.name));
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token);
    expect(seen).toEqual(['l/a.txt', 'l/b.txt', 'l/sub/c.txt', 'l/sub/d.txt', 'l/z.txt']);
  });

  it('keeps object tags', async () => {
    const client = h.client();
    await client.put('tagged.txt', Buffer.from('t'));
    await client.putObjectTagging('tagged.txt', { project: 'upcall', stage: 'test' });
    expect((await client.getObjectTagging('tagged.txt')).tag).toEqual({ project: 'upcall', stage: 'test' });
    expect(headersOf(await client.head('tagged.txt'))['x-oss-tagging-count']).toBe('2');
  });

  it('answers NoSuchBucket for a bucket it does not have', async () => {
    expect(await ossError(h.client({ bucket: 'no-such-bucket' }).get('x'))).toMatchObject({
      status: 404,
      code: 'NoSuchBucket',
    });
  });
});

describe('multipart upload through ali-oss', () => {
  it('uploads ~300 KB in 100 KB parts; ETag is MD5(part MD5s)-N, CRC-64 of the whole', async () => {
    const client = h.pathStyleClient();
    const data = randomBytes(300 * 1024 + 123);
    const partSize = 100 * 1024;
    const result = await client.multipartUpload('big/blob.bin', data, {
      partSize,
      mime: 'application/x-test',
    } as never);
    const parts: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += partSize)
      parts.push(data.subarray(offset, offset + partSize));
    const expectedEtag = `${createHash('md5')
      .update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest())))
      .digest('hex')
      .toUpperCase()}-${parts.length}`;
    expect(parts.length).toBe(4);
    expect((result as unknown as { etag?: string }).etag).toBe(`"${expectedEtag}"`);
    const head = await client.head('big/blob.bin');
    expect(headersOf(head)).toMatchObject({
      etag: `"${expectedEtag}"`,
      'x-oss-object-type': 'Multipart',
      'x-oss-hash-crc64ecma': crc64(data),
      'content-type': 'application/x-test',
      'content-length': String(data.length),
    });
    expect(Buffer.compare((await client.get('big/blob.bin')).content as Buffer, data)).toBe(0);
  });

  it('lists parts, refuses a too-small middle part and aborts', async () => {
    const client = h.client();
    const { uploadId } = await client.initMultipartUpload('big/manual.bin');
    const small = Buffer.alloc(10, 1);
    const p1 = await client.uploadPart('big/manual.bin', uploadId, 1, small as never, 0, small.length);
    const p2 = await client.uploadPart('big/manual.bin', uploadId, 2, small as never, 0, small.length);
    const listed = await client.listParts('big/manual.bin', uploadId, {}, {});
    expect(listed.parts.map((p) => p.PartNumber)).toEqual(['1', '2']);
    const error = await ossError(
      client.completeMultipartUpload('big/manual.bin', uploadId, [
        { number: 1, etag: p1.etag },
        { number: 2, etag: p2.etag },
      ]),
    );
    expect(error).toMatchObject({ status: 400, code: 'EntityTooSmall' });
    const wrongEtag = await ossError(
      client.completeMultipartUpload('big/manual.bin', uploadId, [{ number: 1, etag: '"0000"' }]),
    );
    expect(wrongEtag).toMatchObject({ status: 400, code: 'InvalidPart' });
    await client.abortMultipartUpload('big/manual.bin', uploadId);
    expect(await ossError(client.listParts('big/manual.bin', uploadId, {}, {}))).toMatchObject({
      status: 404,
      code: 'NoSuchUpload',
    });
  });
});

describe('ObjectCreated events and restarts', () => {
  it('emits ObjectCreated for PutObject and CompleteMultipartUpload, not for copies', async () => {
    const events: ObjectCreatedEvent[] = [];
    const unsubscribe = h.oss.onObjectCreated((event) => events.push(event));
    const client = h.client();
    await client.put('events/one.txt', Buffer.from('1'));
    await client.copy('events/copy.txt', 'events/one.txt');
    await client.multipartUpload('events/multi.bin', randomBytes(150 * 1024), {
      partSize: 100 * 1024,
    } as never);
    unsubscribe();
    await client.put('events/after.txt', Buffer.from('2'));
    expect(events.map((e) => [e.eventName, e.key])).toEqual([
      ['ObjectCreated:PutObject', 'events/one.txt'],
      ['ObjectCreated:CompleteMultipartUpload', 'events/multi.bin'],
    ]);
    expect(events[0]).toMatchObject({
      bucket: BUCKET,
      etag: md5Hex(Buffer.from('1')),
      size: 1,
      sourceIp: '127.0.0.1',
    });
    expect(events[0]?.requestId).toMatch(/^[0-9A-F]{24}$/);
    expect(events[1]?.etag).toMatch(/^[0-9A-F]{32}-2$/);
  });

  it('keeps objects, metadata and in-progress uploads across a restart on the same data dir', async () => {
    const client = h.client();
    await client.put('durable/kept.txt', Buffer.from('still here'), { meta: { k: 'v' } } as never);
    const { uploadId } = await client.initMultipartUpload('durable/pending.bin');
    await h.restart();
    const after = h.client();
    expect(((await after.get('durable/kept.txt')).content as Buffer).toString()).toBe('still here');
    expect((await after.head('durable/kept.txt')).meta).toEqual({ k: 'v' });
    expect((await after.listParts('durable/pending.bin', uploadId, {}, {})).uploadId).toBe(uploadId);
  });
});
