import { beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, ossError, REGION, rawRequest, startHarness } from '../../helpers/local-oss.js';
import { useForSuite } from '../../helpers/suite.js';

const h = useForSuite(() => startHarness());
beforeAll(async () => {
  await h.client().put('public/readme.txt', Buffer.from('signed read'));
});

describe('header signatures', () => {
  for (const [name, options] of [
    ['V1, virtual-hosted', {}],
    ['V4, virtual-hosted', { authorizationV4: true }],
    ['V1, path-style (sldEnable)', { endpoint: 'PATH' }],
    ['V4, path-style (sldEnable)', { endpoint: 'PATH', authorizationV4: true }],
  ] as const) {
    it(`${name}: accepted with the right secret, SignatureDoesNotMatch with a wrong one`, async () => {
      const make = (extra: object) =>
        'endpoint' in options
          ? h.pathStyleClient({ ...options, endpoint: `http://localhost:${h.oss.port}`, ...extra })
          : h.client({ ...options, ...extra });
      const client = make({});
      await client.put('sig/ok.txt', Buffer.from('ok'));
      expect(((await client.get('sig/ok.txt')).content as Buffer).toString()).toBe('ok');
      const wrong = make({ accessKeySecret: `${h.account.root.accessKeySecret}x` });
      const error = await ossError(wrong.put('sig/bad.txt', Buffer.from('bad')));
      expect(error).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
      expect(await ossError(client.head('sig/bad.txt'))).toMatchObject({ status: 404 });
    });
  }

  it('keys with spaces, +, =, &, % and non-ASCII sign and round-trip in V1 and V4, both addressing styles', async () => {
    const keys = ['odd/a b+c=d&e%f.txt', 'odd/中文 ✓ (1).txt', "odd/!'()*~.txt"];
    for (const client of [
      h.client(),
      h.client({ authorizationV4: true }),
      h.pathStyleClient(),
      h.pathStyleClient({ authorizationV4: true }),
    ]) {
      for (const key of keys) {
        await client.put(key, Buffer.from(key));
        expect(((await client.get(key)).content as Buffer).toString()).toBe(key);
      }
      const listed = await client.listV2({ prefix: 'odd/' }, {});
      expect(listed.objects.map((o) => o.name).sort()).toEqual([...keys].sort());
    }
  });

  it('unknown AccessKey → 403 InvalidAccessKeyId', async () => {
    const client = h.client({ accessKeyId: 'LTAInobodyhasthis' });
    expect(await ossError(client.get('public/readme.txt'))).toMatchObject({
      status: 403,
      code: 'InvalidAccessKeyId',
    });
  });

  it('anonymous requests meet a private bucket: 403 AccessDenied in OSS XML', async () => {
    const response = await rawRequest(h.oss.endpoint, {
      path: '/public/readme.txt',
      headers: { host: `${BUCKET}.oss-${REGION}.aliyuncs.com` },
    });
    expect(response.status).toBe(403);
    const xml = response.body;
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>/,
    );
    const requestId = response.headers['x-oss-request-id'];
    expect(xml).toContain(`<RequestId>${requestId}</RequestId>`);
    expect(xml).toContain(`<HostId>${BUCKET}.oss-${REGION}.aliyuncs.com</HostId>`);
    expect(xml).toMatch(/<EC>\d{4}-\d{8}<\/EC>/);
  });

  it('a request signed for another region is refused', async () => {
    const elsewhere = await ossError(h.client({ region: 'oss-cn-shanghai' }).get('public/readme.txt'));
    expect(elsewhere).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(elsewhere.message).toContain('must be addressed using the specified endpoint');
    const signedElsewhere = h.pathStyleClient({ region: 'oss-cn-shanghai', authorizationV4: true });
    expect(await ossError(signedElsewhere.get('public/readme.txt'))).toMatchObject({
      status: 400,
      code: 'InvalidArgument',
    });
  });
});

describe('presigned URLs fetched with plain fetch', () => {
  it('V1 signatureUrl: works, then refused when tampered or expired', async () => {
    const client = h.pathStyleClient();
    const url = client.signatureUrl('public/readme.txt', { expires: 60 });
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('signed read');

    const tampered = new URL(url);
    tampered.pathname = tampered.pathname.replace('readme', 'README');
    const bad = await fetch(tampered);
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain('<Code>SignatureDoesNotMatch</Code>');

    const forged = new URL(url);
    forged.searchParams.set('Expires', String(Number(forged.searchParams.get('Expires')) + 3600));
    expect((await fetch(forged)).status).toBe(403);

    const expired = client.signatureUrl('public/readme.txt', { expires: -10 });
    const late = await fetch(expired);
    expect(late.status).toBe(403);
    const xml = await late.text();
    expect(xml).toContain('<Code>AccessDenied</Code>');
    expect(xml).toContain('<Message>Request has expired.</Message>');
  });

  it('V1 signatureUrl for a PUT uploads with the signed Content-Type', async () => {
    const client = h.pathStyleClient();
    const url = client.signatureUrl('presigned/put.txt', {
      method: 'PUT',
      'Content-Type': 'text/plain',
      expires: 60,
    });
    const put = await fetch(url, {
      method: 'PUT',
      body: 'via url',
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(200);
    expect(((await client.get('presigned/put.txt')).content as Buffer).toString()).toBe('via url');
  });

  it('V4 signatureUrlV4: works, refused when tampered', async () => {
    const client = h.pathStyleClient({ authorizationV4: true });
    const url = await client.signatureUrlV4('GET', 60, {}, 'public/readme.txt');
    expect(await (await fetch(url)).text()).toBe('signed read');
    const tampered = url.replace('x-oss-expires=60', 'x-oss-expires=600');
    expect((await fetch(tampered)).status).toBe(403);
  });
});

describe('STS temporary credentials with a session policy', () => {
  const alicePolicy = {
    Version: '1',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['oss:PutObject', 'oss:GetObject', 'oss:AbortMultipartUpload', 'oss:ListParts'],
        Resource: [`acs:oss:*:*:${BUCKET}/uploads/alice/*`],
      },
    ],
  };

  for (const authorizationV4 of [false, true]) {
    it(`${authorizationV4 ? 'V4' : 'V1'}: allowed inside uploads/alice/, AccessDenied outside`, async () => {
      const credential = h.sts(alicePolicy);
      const client = h.stsClient(credential, { authorizationV4 });
      await client.put('uploads/alice/photo.txt', Buffer.from('mine'));
      expect(((await client.get('uploads/alice/photo.txt')).content as Buffer).toString()).toBe('mine');
      const outside = await ossError(client.put('uploads/bob/photo.txt', Buffer.from('not mine')));
      expect(outside).toMatchObject({ status: 403, code: 'AccessDenied', ecCode: '0003-00000301' });
      expect(await ossError(client.delete('uploads/alice/photo.txt'))).toMatchObject({
        code: 'AccessDenied',
      });
      expect(await ossError(client.listV2({ prefix: 'uploads/alice/' }, {}))).toMatchObject({
        code: 'AccessDenied',
      });
      await expect(h.client().head('uploads/bob/photo.txt')).rejects.toMatchObject({ status: 404 });
    });
  }

  it('multipart inside the prefix works with PutObject + ListParts + AbortMultipartUpload', async () => {
    const credential = h.sts(alicePolicy);
    const client = h.stsClient(credential);
    const { uploadId } = await client.initMultipartUpload('uploads/alice/multi.bin');
    expect(uploadId).toMatch(/\S/);
    await client.uploadPart('uploads/alice/multi.bin', uploadId, 1, Buffer.alloc(1024, 1), 0, 1024);
    const listed = await client.listParts('uploads/alice/multi.bin', uploadId, {}, {});
    // ali-oss hands a single <Part> over as an object, several as an array.
    expect([listed.parts].flat().map((part) => Number(part.PartNumber))).toEqual([1]);
    const aborted = await client.abortMultipartUpload('uploads/alice/multi.bin', uploadId);
    expect((aborted as unknown as { res: { status: number } }).res.status).toBe(204);
    // Aborted: the upload id is gone.
    expect(await ossError(client.listParts('uploads/alice/multi.bin', uploadId, {}, {}))).toMatchObject({
      status: 404,
      code: 'NoSuchUpload',
    });
  });

  it('a missing, wrong or expired security token is refused', async () => {
    const credential = h.sts(alicePolicy);
    const base = { accessKeyId: credential.accessKeyId, accessKeySecret: credential.accessKeySecret };
    expect(await ossError(h.client(base).get('uploads/alice/x'))).toMatchObject({
      status: 403,
      code: 'InvalidAccessKeyId',
      ecCode: '0002-00000003',
    });
    const wrongToken = h.stsClient({ ...credential, securityToken: `${credential.securityToken}x` });
    expect(await ossError(wrongToken.get('uploads/alice/x'))).toMatchObject({
      status: 403,
      code: 'InvalidSecurityToken',
    });
    const old = h.account.issueTemporary({
      roleArn: credential.roleArn,
      roleSessionName: 'old',
      durationSeconds: 900,
      now: Date.now() - 3_600_000,
    });
    const expired = h.stsClient(old);
    expect(await ossError(expired.get('uploads/alice/x'))).toMatchObject({
      status: 403,
      code: 'SecurityTokenExpired',
    });
  });

  it('CopyObject needs GetObject on the source as well as PutObject on the target', async () => {
    await h.client().put('private/source.txt', Buffer.from('secret'));
    const credential = h.sts(alicePolicy);
    const client = h.stsClient(credential);
    expect(await ossError(client.copy('uploads/alice/stolen.txt', 'private/source.txt'))).toMatchObject({
      status: 403,
      code: 'AccessDenied',
    });
  });
});
