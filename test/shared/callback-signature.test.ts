import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateCallbackSigningKey, signCallback } from '../../local/oss/callback-signing.js';
import { verifyOssCallback } from '../../shared/callback-signature.js';
import { OSS_SIGNED_CALLBACKS, toCallbackRequest } from '../fixtures/oss-signed-callbacks.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('verifyOssCallback with OSS-signed requests', () => {
  let fetchSpy: ReturnType<typeof vi.spyOn>;
  let requestSpy: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    fetchSpy = vi.spyOn(globalThis, 'fetch');
    requestSpy = vi.spyOn(http, 'request');
  });
  afterEach(() => {
    // The pinned key means no verification below may touch the network.
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(requestSpy).not.toHaveBeenCalled();
    vi.restoreAllMocks();
  });

  for (const fixture of OSS_SIGNED_CALLBACKS) {
    describe(fixture.name, () => {
      it('verifies', async () => {
        expect(await verifyOssCallback(toCallbackRequest(fixture))).toEqual({
          ok: true,
          keyUrl: fixture.keyUrl,
        });
      });

      const variants: Array<[string, (r: ReturnType<typeof toCallbackRequest>) => void]> = [
        ['path changed by one byte', (r) => (r.path = `${r.path.slice(0, -1)}X`)],
        ['path with a trailing slash', (r) => (r.path = `${r.path}/`)],
        ['query added or changed', (r) => (r.query = r.query === '' ? 'a=1' : `${r.query}x`)],
        [
          'body changed by one byte',
          (r) => (r.body = Buffer.from(`${Buffer.from(r.body).toString().slice(0, -1)}x`)),
        ],
        ['body with a trailing newline', (r) => (r.body = Buffer.concat([r.body, Buffer.from('\n')]))],
        [
          'CRLF instead of LF before the body',
          (r) => {
            if (r.query === '') r.path = `${r.path}%0D`;
            else r.query = `${r.query}\r`;
          },
        ],
      ];
      for (const [name, mutate] of variants) {
        it(`refuses: ${name}`, async () => {
          const request = toCallbackRequest(fixture);
          mutate(request);
          const result = await verifyOssCallback(request);
          expect(result).toMatchObject({ ok: false, code: 'InvalidSignature' });
        });
      }

      it('refuses an empty "?" added to what is signed, and a dropped query', async () => {
        // The typed request cannot carry an empty query apart from none, so the '?' rides on the path here:
        // the verifier then signs '<path>?\n<body>' (or '<path>??<query>'), which OSS never signed.
        const withEmptyQuery = toCallbackRequest(fixture);
        withEmptyQuery.path = `${fixture.path}?`;
        expect(await verifyOssCallback(withEmptyQuery)).toMatchObject({
          ok: false,
          code: 'InvalidSignature',
        });
        if (fixture.query !== '') {
          const dropped = { ...toCallbackRequest(fixture), query: '' };
          expect(await verifyOssCallback(dropped)).toMatchObject({ ok: false, code: 'InvalidSignature' });
        }
      });

      it('refuses a flipped signature byte', async () => {
        const request = toCallbackRequest(fixture);
        const sig = Buffer.from(fixture.authorization, 'base64');
        sig[10] = (sig[10] as number) ^ 1;
        request.headers.authorization = sig.toString('base64');
        expect(await verifyOssCallback(request)).toMatchObject({ ok: false, code: 'InvalidSignature' });
      });
    });
  }

  it('names missing headers', async () => {
    const request = toCallbackRequest(OSS_SIGNED_CALLBACKS[0]!);
    delete request.headers.authorization;
    expect(await verifyOssCallback(request)).toMatchObject({ ok: false, code: 'MissingSignature' });
    const noKey = toCallbackRequest(OSS_SIGNED_CALLBACKS[0]!);
    delete noKey.headers['x-oss-pub-key-url'];
    const result = await verifyOssCallback(noKey);
    expect(result).toMatchObject({ ok: false, code: 'MissingSignature' });
    expect(result.ok === false && result.message).toContain('x-oss-pub-key-url');
  });

  it.each([
    ['not base64', 'not base64!!'],
    ['base64 of the wrong length', Buffer.alloc(63, 1).toString('base64')],
  ])('refuses a malformed signature (%s)', async (_name, authorization) => {
    const request = toCallbackRequest(OSS_SIGNED_CALLBACKS[0]!);
    request.headers.authorization = authorization;
    expect(await verifyOssCallback(request)).toMatchObject({ ok: false, code: 'MalformedSignature' });
  });

  it('refuses a key URL header that is not base64', async () => {
    const request = toCallbackRequest(OSS_SIGNED_CALLBACKS[0]!);
    request.headers['x-oss-pub-key-url'] = 'http://gosspublic.alicdn.com/callback_pub_key_v1.pem';
    expect(await verifyOssCallback(request)).toMatchObject({ ok: false, code: 'MalformedSignature' });
  });

  it.each([
    'https://gosspublic.alicdn.com.evil.example/callback_pub_key_v1.pem',
    'https://gosspublic.alicdn.com@evil.example/callback_pub_key_v1.pem',
    'https://evil.example/gosspublic.alicdn.com/callback_pub_key_v1.pem',
    'https://GOSSPUBLIC.alicdn.com/callback_pub_key_v1.pem',
    'ftp://gosspublic.alicdn.com/callback_pub_key_v1.pem',
    'https://gosspublic.alicdn.com:8443/callback_pub_key_v1.pem',
    'https://gosspublic.alicdn.com/../callback_pub_key_v1.pem',
    'https://gosspublic.alicdn.com/keys/callback_pub_key_v1.pem?x=1',
    'https://gosspublic.alicdn.com/',
    'http://127.0.0.1:9000/callback_pub_key_v1.pem',
  ])('refuses the untrusted key URL %s without any network request', async (keyUrl) => {
    const request = toCallbackRequest(OSS_SIGNED_CALLBACKS[0]!);
    request.headers['x-oss-pub-key-url'] = b64(keyUrl);
    expect(await verifyOssCallback(request)).toMatchObject({ ok: false, code: 'UntrustedPublicKeyUrl' });
  });
});

describe('verifyOssCallback with a trusted local key', () => {
  const key = generateCallbackSigningKey();
  const trustedKeys = [{ urlPrefix: 'http://127.0.0.1:9000/', publicKeyPem: key.publicKeyPem }];
  const body = Buffer.from('bucket=b&object=a%2Fb');

  function signedRequest(keyUrl: string, path = '/callback/a%20b') {
    return {
      path,
      query: '',
      headers: {
        authorization: signCallback(key.privateKey, path, '', body),
        'x-oss-pub-key-url': b64(keyUrl),
      },
      body,
    };
  }

  it('verifies a request signed by the configured key, decoding the path before signing', async () => {
    expect(
      await verifyOssCallback(signedRequest('http://127.0.0.1:9000/callback_pub_key_v1.pem'), {
        trustedKeys,
      }),
    ).toMatchObject({ ok: true });
  });

  it('does not trust the local key unless configured', async () => {
    expect(
      await verifyOssCallback(signedRequest('http://127.0.0.1:9000/callback_pub_key_v1.pem')),
    ).toMatchObject({ ok: false, code: 'UntrustedPublicKeyUrl' });
  });

  it.each([
    'http://127.0.0.1:9000/../../elsewhere/key.pem',
    'http://127.0.0.1:9000/./callback_pub_key_v1.pem',
    'http://127.0.0.1:9000/%2e%2e/callback_pub_key_v1.pem',
    'HTTP://127.0.0.1:9000/callback_pub_key_v1.pem',
  ])('refuses %s under the trusted prefix: only a canonical URL is compared', async (keyUrl) => {
    expect(await verifyOssCallback(signedRequest(keyUrl), { trustedKeys })).toMatchObject({
      ok: false,
      code: 'UntrustedPublicKeyUrl',
    });
  });

  it('does not accept a look-alike port', async () => {
    expect(
      await verifyOssCallback(signedRequest('http://127.0.0.1:90001/callback_pub_key_v1.pem'), {
        trustedKeys,
      }),
    ).toMatchObject({ ok: false, code: 'UntrustedPublicKeyUrl' });
  });

  it('refuses a local-key signature presented under OSS key URL', async () => {
    const request = signedRequest('https://gosspublic.alicdn.com/callback_pub_key_v1.pem');
    expect(await verifyOssCallback(request, { trustedKeys })).toMatchObject({
      ok: false,
      code: 'InvalidSignature',
    });
  });

  it('rejects a trusted prefix that is not scheme://host/…/', async () => {
    await expect(
      verifyOssCallback(signedRequest('http://127.0.0.1:9000/k.pem'), {
        trustedKeys: [{ urlPrefix: 'http://127.0.0.1:9000', publicKeyPem: key.publicKeyPem }],
      }),
    ).rejects.toThrow(/prefix/);
  });
});

describe('fetching a non-pinned OSS key', () => {
  afterEach(() => vi.restoreAllMocks());

  it('fetches other allowlisted key files over HTTPS once, with a timeout, and reports failure', async () => {
    const calls: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      calls.push(String(input));
      throw new TypeError('network down');
    });
    const request = toCallbackRequest(OSS_SIGNED_CALLBACKS[0]!);
    request.headers['x-oss-pub-key-url'] = b64('http://gosspublic.alicdn.com/callback_pub_key_v9.pem');
    const result = await verifyOssCallback(request);
    expect(result).toMatchObject({ ok: false, code: 'PublicKeyUnavailable' });
    expect(calls).toEqual(['https://gosspublic.alicdn.com/callback_pub_key_v9.pem']);
  });

  it('uses a fetched key and caches it', async () => {
    const key = generateCallbackSigningKey();
    const fetchSpy = vi
      .spyOn(globalThis, 'fetch')
      .mockImplementation(async () => new Response(key.publicKeyPem, { status: 200 }));
    const body = Buffer.from('x=1');
    const request = {
      path: '/cb',
      query: '',
      headers: {
        authorization: signCallback(key.privateKey, '/cb', '', body),
        'x-oss-pub-key-url': b64('https://gosspublic.alicdn.com/callback_pub_key_v7.pem'),
      },
      body,
    };
    expect(await verifyOssCallback(request)).toMatchObject({ ok: true });
    expect(await verifyOssCallback(request)).toMatchObject({ ok: true });
    expect(fetchSpy).toHaveBeenCalledTimes(1);
  });
});

describe('no network for refused URLs, observed from a real server', () => {
  it('never connects to a look-alike key host even if it resolves', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.end('-----BEGIN PUBLIC KEY-----');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      for (const keyUrl of [
        `http://127.0.0.1:${port}/callback_pub_key_v1.pem`,
        `http://gosspublic.alicdn.com.127.0.0.1.nip.io:${port}/callback_pub_key_v1.pem`,
      ]) {
        const request = toCallbackRequest(OSS_SIGNED_CALLBACKS[0]!);
        request.headers['x-oss-pub-key-url'] = b64(keyUrl);
        expect(await verifyOssCallback(request)).toMatchObject({ ok: false, code: 'UntrustedPublicKeyUrl' });
      }
      expect(hits).toBe(0);
    } finally {
      server.close();
    }
  });
});
