import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../../local/oss/crc64.js';
import type { ObjectCreatedEvent } from '../../../local/oss/server.js';
import {
  buildCallbackParam,
  buildCallbackVars,
  encodeCallbackHeader,
  parseCallbackBody,
} from '../../../shared/callback-contract.js';
import { verifyOssCallback } from '../../../shared/callback-signature.js';
import {
  BUCKET,
  type CallbackSink,
  headersOf,
  ossError,
  parseErrorXml,
  REGION,
  type ReceivedCallback,
  startCallbackSink,
  startHarness,
} from '../../helpers/local-oss.js';
import { solidPng } from '../../helpers/media.js';
import { useForSuite } from '../../helpers/suite.js';

const CALLBACK_TIMEOUT_MS = 400;

const h = useForSuite(() => startHarness({ callbackTimeoutMs: CALLBACK_TIMEOUT_MS }));
const sink = useForSuite(startCallbackSink);
let png: Buffer;
beforeAll(async () => {
  png = await solidPng(40, 30, '#3a6');
});
afterEach(() => {
  sink.received.length = 0;
  sink.respond = (_req, res) => {
    const reply = JSON.stringify({ ok: true });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
    res.end(reply);
  };
});

const md5Hex = (data: Buffer) => createHash('md5').update(data).digest('hex').toUpperCase();

async function expectVerified(received: ReceivedCallback | undefined) {
  expect(received).toBeDefined();
  const verification = await verifyOssCallback(received as ReceivedCallback, {
    trustedKeys: [{ urlPrefix: h.oss.trustedKeyUrlPrefix, publicKeyPem: h.oss.publicKeyPem }],
  });
  expect(verification).toEqual({ ok: true, keyUrl: h.oss.publicKeyUrl });
}

/** upcall's own callback headers (form mode, the contract's template, the ticket variable). */
function contractHeaders(url: string, ticket = 'ticket.abc-123') {
  return {
    'x-oss-callback': encodeCallbackHeader(buildCallbackParam(url)),
    'x-oss-callback-var': encodeCallbackHeader(buildCallbackVars(ticket)),
  };
}

describe('upload callbacks that succeed', () => {
  it('the stand-in serves the public key it names in x-oss-pub-key-url', async () => {
    expect(h.oss.publicKeyUrl).toBe(`${h.oss.endpoint}/_local/callback_pub_key_v1.pem`);
    expect(h.oss.publicKeyUrl.startsWith(h.oss.trustedKeyUrlPrefix)).toBe(true);
    const response = await fetch(h.oss.publicKeyUrl);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(h.callbackKey.publicKeyPem);
  });

  it('PutObject, form mode: the contract template rendered, signed, headers as OSS sends them, reply passed through', async () => {
    const result = await h
      .client()
      .put('cb/photo.png', png, { headers: contractHeaders(`${sink.url}/oss/callback`) });
    expect(result.res.status).toBe(200);
    expect((result as { data?: unknown }).data).toEqual({ ok: true });
    const received = sink.received[0] as ReceivedCallback;
    await expectVerified(received);
    expect(received.path).toBe('/oss/callback');
    expect(received.headers).toMatchObject({
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'aliyun-oss-callback',
      'x-oss-bucket': BUCKET,
      'x-oss-tag': 'CALLBACK',
      'x-oss-signature-version': '1.0',
      'x-oss-request-id': headersOf(result)['x-oss-request-id'],
      'content-md5': createHash('md5').update(received.body).digest('base64'),
    });
    const parsed = parseCallbackBody(received.body);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.notice).toEqual({
      bucket: BUCKET,
      key: 'cb/photo.png',
      etag: md5Hex(png),
      size: png.length,
      contentType: 'image/png',
      image: { width: 40, height: 30, format: 'png' },
      crc64: crc64(png),
      operation: 'PutObject',
      ossRequestId: headersOf(result)['x-oss-request-id'],
      clientIp: '127.0.0.1',
      ticket: 'ticket.abc-123',
    });
  });

  it('JSON mode through ali-oss’s callback option: strings quoted, numbers bare, custom values with x:', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer();
    const result = await h.client().put('cb/photo.jpg', jpeg, {
      callback: {
        url: `${sink.url}/json`,
        body: '{"object":${object},"size":${size},"wh":"${imageInfo.width},${imageInfo.height}","fmt":${imageInfo.format},"name":${x:fname}}',
        contentType: 'application/json',
        customValue: { fname: 'holiday "best".jpg' },
      },
    } as never);
    expect((result as { data?: unknown }).data).toEqual({ ok: true });
    const received = sink.received[0] as ReceivedCallback;
    await expectVerified(received);
    expect(received.headers['content-type']).toBe('application/json');
    expect(received.body.toString()).toBe(
      `{"object":"cb/photo.jpg","size":${jpeg.length},"wh":"8,6","fmt":"jpg","name":"holiday \\"best\\".jpg"}`,
    );
  });

  it('multipartUpload: the callback goes with CompleteMultipartUpload and its JSON becomes result.data', async () => {
    sink.respond = (_req, res, body) => {
      const reply = JSON.stringify({ received: Buffer.from(body).toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    };
    const data = Buffer.alloc(220 * 1024, 7);
    const result = (await h.client().multipartUpload('cb/big.bin', data, {
      partSize: 100 * 1024,
      callback: {
        url: `${sink.url}/mp`,
        body: 'etag=${etag}&size=${size}&op=${operation}&md5=${contentMd5}',
      },
    } as never)) as { data?: { received: string } };
    const form = new URLSearchParams(result.data?.received);
    expect(form.get('etag')).toMatch(/^[0-9A-F]{32}-3$/);
    expect(form.get('size')).toBe(String(data.length));
    expect(form.get('op')).toBe('CompleteMultipartUpload');
    expect(form.get('md5')).toBe('');
    await expectVerified(sink.received[0]);
  });

  it('tries the URLs in order: a refused first URL, then the second answers', async () => {
    const result = await h.client().put('cb/second.txt', Buffer.from('x'), {
      headers: contractHeaders(`http://127.0.0.1:9/nobody;${sink.url}/second`),
    });
    expect((result as { data?: unknown }).data).toEqual({ ok: true });
    expect(sink.received.map((r) => r.path)).toEqual(['/second']);
  });

  it('PostObject: callback and x: variables pinned by the V4 policy', async () => {
    const callback = encodeCallbackHeader(buildCallbackParam(`${sink.url}/post`));
    const now = new Date();
    const datetime = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const credential = `${h.account.root.accessKeyId}/${datetime.slice(0, 8)}/${REGION}/oss/aliyun_v4_request`;
    const policy = {
      expiration: new Date(now.getTime() + 60_000).toISOString(),
      conditions: [
        { bucket: BUCKET },
        { 'x-oss-signature-version': 'OSS4-HMAC-SHA256' },
        { 'x-oss-credential': credential },
        { 'x-oss-date': datetime },
        { callback },
        ['eq', '$x:ticket', 'post-ticket'],
        ['eq', '$key', 'cb/form.png'],
      ],
    };
    const client = h.client();
    const form = new FormData();
    const fields = {
      key: 'cb/form.png',
      policy: Buffer.from(JSON.stringify(policy)).toString('base64'),
      'x-oss-signature-version': 'OSS4-HMAC-SHA256',
      'x-oss-credential': credential,
      'x-oss-date': datetime,
      'x-oss-signature': client.signPostObjectPolicyV4(policy, now),
      callback,
      'x:ticket': 'post-ticket',
      success_action_status: '200',
    };
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', new Blob([png], { type: 'image/png' }), 'form.png');
    const response = await fetch(`${h.oss.endpoint}/${BUCKET}`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    const received = sink.received[0];
    await expectVerified(received);
    const parsed = parseCallbackBody((received as ReceivedCallback).body);
    expect(parsed).toMatchObject({
      ok: true,
      notice: {
        operation: 'PostObject',
        key: 'cb/form.png',
        ticket: 'post-ticket',
        image: { format: 'png' },
      },
    });
  });
});

describe('upload callbacks that fail: 203 CallbackFailed, the object stays stored', () => {
  const cases: Array<[string, (s: CallbackSink) => string, RegExp, string]> = [
    [
      'refused connection',
      () => 'http://127.0.0.1:9/down',
      /^Error status : -1\. OSS can not connect/,
      '0007-00000203',
    ],
    [
      'a 500 answer',
      (s) => {
        s.respond = (_req, res) => res.writeHead(500, { 'content-length': '2' }).end('no');
        return `${s.url}/500`;
      },
      /^Error status : 500\.$/,
      '0007-00000203',
    ],
    [
      'a non-JSON answer',
      (s) => {
        s.respond = (_req, res) => res.writeHead(200, { 'content-length': '5' }).end('hello');
        return `${s.url}/text`;
      },
      /^Response body is not valid json format\.$/,
      '0007-00000205',
    ],
    [
      'a chunked answer without Content-Length',
      (s) => {
        s.respond = (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"ok"');
          res.end(':true}');
        };
        return `${s.url}/chunked`;
      },
      /content-length/,
      '0007-00000203',
    ],
    [
      'an answer slower than the timeout',
      (s) => {
        s.respond = (_req, res) => {
          setTimeout(
            () => res.writeHead(200, { 'content-length': '2' }).end('{}'),
            CALLBACK_TIMEOUT_MS + 300,
          );
        };
        return `${s.url}/slow`;
      },
      new RegExp(`reply timeout, cost: \\d+ MS, timeout: ${CALLBACK_TIMEOUT_MS} MS$`),
      '0007-00000202',
    ],
  ];

  for (const [name, arrange, message, ec] of cases) {
    it(name, async () => {
      const key = `cb/failed-${name.replaceAll(' ', '-')}.txt`;
      const events: ObjectCreatedEvent[] = [];
      const unsubscribe = h.oss.onObjectCreated((event) => events.push(event));
      const error = await ossError(
        h.client().put(key, Buffer.from(name), { headers: contractHeaders(arrange(sink)) }),
      );
      unsubscribe();
      expect(error).toMatchObject({
        status: 203,
        code: 'CallbackFailed',
        name: 'CallbackFailedError',
        ecCode: ec,
      });
      expect(error.message).toMatch(message);
      expect(((await h.client().get(key)).content as Buffer).toString()).toBe(name);
      expect(events.map((e) => e.key)).toEqual([key]);
    });
  }

  it('the 203 body is OSS’s CallbackFailed XML with the upload’s ETag in the headers', async () => {
    const response = await fetch(
      h.pathStyleClient().signatureUrl('cb/raw.txt', {
        method: 'PUT',
        expires: 60,
        callback: { url: 'http://127.0.0.1:9/down', body: 'key=${object}' },
      } as never),
      // A Buffer body: fetch would add `Content-Type: text/plain` to a string, and Content-Type is signed.
      { method: 'PUT', body: Buffer.from('raw') },
    );
    expect(response.status).toBe(203);
    expect(response.headers.get('etag')).toBe(`"${md5Hex(Buffer.from('raw'))}"`);
    expect(parseErrorXml(await response.text())).toMatchObject({
      Code: 'CallbackFailed',
      HostId: `${BUCKET}.oss-${REGION}.aliyuncs.com`,
      EC: '0007-00000203',
    });
  });
});

describe('callback parameters OSS refuses before storing anything: 400 InvalidArgument', () => {
  const b64 = (value: unknown) =>
    Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');
  const bad: Array<[string, Record<string, string>]> = [
    ['callback not base64', { 'x-oss-callback': 'x123-*&' }],
    ['callback not JSON', { 'x-oss-callback': b64('{callbackUrl:') }],
    [
      'empty callbackBody',
      { 'x-oss-callback': b64({ callbackUrl: 'http://127.0.0.1:9/', callbackBody: '' }) },
    ],
    [
      'invalid callbackUrl',
      { 'x-oss-callback': b64({ callbackUrl: 'http://host:port/x', callbackBody: 'a=b' }) },
    ],
    [
      'six callback URLs',
      {
        'x-oss-callback': b64({
          callbackUrl: Array(6).fill('http://127.0.0.1:9/').join(';'),
          callbackBody: 'a=b',
        }),
      },
    ],
    [
      'unsupported callbackBodyType',
      {
        'x-oss-callback': b64({
          callbackUrl: 'http://127.0.0.1:9/',
          callbackBody: 'a',
          callbackBodyType: 'text/xml',
        }),
      },
    ],
    [
      'oversized callback-var',
      {
        'x-oss-callback': b64({ callbackUrl: 'http://127.0.0.1:9/', callbackBody: 'a=b' }),
        'x-oss-callback-var': b64({ 'x:big': 'v'.repeat(6000) }),
      },
    ],
  ];
  for (const [name, headers] of bad) {
    it(name, async () => {
      const key = `cb/refused-${name.replaceAll(' ', '-')}.txt`;
      const error = await ossError(h.client().put(key, Buffer.from('x'), { headers }));
      expect(error).toMatchObject({ status: 400, code: 'InvalidArgument' });
      expect(await ossError(h.client().head(key))).toMatchObject({ status: 404 });
      expect(sink.received).toEqual([]);
    });
  }
});
