import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TemporaryCredential } from '../../../local/credentials.js';
import type { ObjectCreatedEvent } from '../../../local/oss/server.js';
import {
  BUCKET,
  headersOf,
  parseErrorXml,
  REGION,
  rawRequest,
  startHarness,
} from '../../helpers/local-oss.js';
import { useForSuite } from '../../helpers/suite.js';

const APP_ORIGIN = 'http://app.example:5173';

const h = useForSuite(() => startHarness({ corsAllowedOrigins: [APP_ORIGIN] }));

const isoBasic = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

interface FormSpec {
  key: string;
  conditions?: unknown[];
  fields?: Record<string, string>;
  expiration?: Date;
  credential?: TemporaryCredential;
  /** Change a field after signing (what a malicious browser would do). */
  tamper?: Record<string, string>;
  body?: Buffer;
  omitSigningConditions?: boolean;
}

/** A V4-signed PostObject form, signed with ali-oss's signPostObjectPolicyV4 as a token server would. */
function v4Form(spec: FormSpec): FormData {
  const now = new Date();
  const credential = spec.credential;
  const accessKeyId = credential?.accessKeyId ?? h.account.root.accessKeyId;
  const client = credential ? h.stsClient(credential) : h.client();
  const signing: Record<string, string> = {
    'x-oss-signature-version': 'OSS4-HMAC-SHA256',
    'x-oss-credential': `${accessKeyId}/${isoBasic(now).slice(0, 8)}/${REGION}/oss/aliyun_v4_request`,
    'x-oss-date': isoBasic(now),
    ...(credential ? { 'x-oss-security-token': credential.securityToken } : {}),
  };
  const policy = {
    expiration: (spec.expiration ?? new Date(now.getTime() + 600_000)).toISOString(),
    conditions: [
      { bucket: BUCKET },
      ...(spec.omitSigningConditions
        ? []
        : Object.entries(signing).map(([name, value]) => ({ [name]: value }))),
      ...(spec.conditions ?? []),
    ],
  };
  const signature = client.signPostObjectPolicyV4(policy, now);
  const fields: Record<string, string> = {
    key: spec.key,
    policy: Buffer.from(JSON.stringify(policy)).toString('base64'),
    ...signing,
    'x-oss-signature': signature,
    ...spec.fields,
    ...spec.tamper,
  };
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append(
    'file',
    new Blob([spec.body ?? Buffer.from('form upload')], { type: 'text/plain' }),
    'photo.txt',
  );
  return form;
}

const post = (form: FormData) => fetch(`${h.oss.endpoint}/${BUCKET}`, { method: 'POST', body: form });
const stored = async (key: string) =>
  h
    .client()
    .head(key)
    .then(
      () => true,
      () => false,
    );

describe('PostObject with a V4-signed policy', () => {
  it('stores the file under the key with root credentials (204 by default, 200/201 on request)', async () => {
    const noContent = await post(v4Form({ key: 'post/default.txt' }));
    expect(noContent.status).toBe(204);
    expect(noContent.headers.get('etag')).toMatch(/^"[0-9A-F]{32}"$/);
    const ok = await post(v4Form({ key: 'post/ok.txt', fields: { success_action_status: '200' } }));
    expect(ok.status).toBe(200);
    const created = await post(v4Form({ key: 'post/created.txt', fields: { success_action_status: '201' } }));
    expect(created.status).toBe(201);
    const xml = await created.text();
    expect(xml).toContain('<PostResponse><Bucket>upcall-test</Bucket>');
    expect(xml).toContain('<Key>post/created.txt</Key>');
    const got = await h.client().get('post/created.txt');
    expect((got.content as Buffer).toString()).toBe('form upload');
  });

  it('with STS credentials and a session policy: inside the prefix stored, outside refused', async () => {
    const credential = h.sts({
      Version: '1',
      Statement: [
        { Effect: 'Allow', Action: 'oss:PutObject', Resource: `acs:oss:*:*:${BUCKET}/uploads/alice/*` },
      ],
    });
    const events: ObjectCreatedEvent[] = [];
    const unsubscribe = h.oss.onObjectCreated((event) => events.push(event));
    const inside = await post(
      v4Form({
        key: 'uploads/alice/form.txt',
        credential,
        conditions: [['starts-with', '$key', 'uploads/alice/']],
        fields: { 'Content-Type': 'text/markdown', 'x-oss-meta-origin': 'browser' },
      }),
    );
    unsubscribe();
    expect(inside.status).toBe(204);
    const head = await h.client().head('uploads/alice/form.txt');
    expect(headersOf(head)['content-type']).toBe('text/markdown');
    expect(head.meta).toEqual({ origin: 'browser' });
    expect(events).toMatchObject([{ eventName: 'ObjectCreated:PostObject', key: 'uploads/alice/form.txt' }]);

    const outside = await post(v4Form({ key: 'uploads/bob/form.txt', credential }));
    expect(outside.status).toBe(403);
    expect(parseErrorXml(await outside.text()).Code).toBe('AccessDenied');
    expect(await stored('uploads/bob/form.txt')).toBe(false);
  });

  it.each([
    {
      refused: 'a key outside the policy',
      form: (): FormSpec => ({
        key: 'post/free.txt',
        conditions: [['starts-with', '$key', 'post/only/']],
        tamper: {},
      }),
      status: 403,
      error: {
        Code: 'AccessDenied',
        Message: 'Invalid according to Policy: Policy Condition failed: ["starts-with","$key","post/only/"]',
      },
    },
    {
      refused: 'an expired policy',
      form: (): FormSpec => ({ key: 'post/late.txt', expiration: new Date(Date.now() - 1000) }),
      status: 403,
      error: { Message: 'Invalid according to Policy: Policy expired.' },
    },
    {
      refused: 'a wrong signature',
      form: (): FormSpec => ({ key: 'post/forged.txt', tamper: { 'x-oss-signature': '0'.repeat(64) } }),
      status: 403,
      error: { Code: 'SignatureDoesNotMatch' },
    },
    {
      refused: 'a body over the size range',
      form: (): FormSpec => ({
        key: 'post/big.txt',
        conditions: [['content-length-range', 1, 10]],
        body: Buffer.alloc(11),
      }),
      status: 400,
      error: { Code: 'EntityTooLarge', EC: '0006-00000003' },
    },
    {
      refused: 'a policy that leaves the signing fields unpinned',
      form: (): FormSpec => ({ key: 'post/unpinned.txt', omitSigningConditions: true }),
      status: 403,
      error: { Code: 'AccessDenied' },
    },
  ])('refuses $refused and stores nothing', async ({ form, status, error }) => {
    const spec = form();
    const answer = await post(v4Form(spec));
    expect(answer.status).toBe(status);
    expect(parseErrorXml(await answer.text())).toMatchObject(error);
    expect(await stored(spec.key)).toBe(false);
  });

  it('a pinned callback or x: variable cannot be changed by the uploader', async () => {
    const callback = Buffer.from(
      JSON.stringify({ callbackUrl: 'http://127.0.0.1:9/cb', callbackBody: 'object=${object}' }),
    ).toString('base64');
    const pinned = { conditions: [{ callback }, ['eq', '$x:ticket', 'ticket-1']] };
    const swapped = Buffer.from(
      JSON.stringify({ callbackUrl: 'http://127.0.0.1:9/cb', callbackBody: 'object=forged' }),
    ).toString('base64');
    const tampered = await post(
      v4Form({
        key: 'post/pinned.txt',
        ...pinned,
        fields: { callback, 'x:ticket': 'ticket-1' },
        tamper: { callback: swapped },
      }),
    );
    expect(tampered.status).toBe(403);
    expect(parseErrorXml(await tampered.text()).Message).toBe(
      `Invalid according to Policy: Policy Condition failed: {"callback":"${callback}"}`,
    );
    const dropped = await post(
      v4Form({ key: 'post/pinned.txt', ...pinned, fields: { 'x:ticket': 'ticket-1' } }),
    );
    expect(dropped.status).toBe(403);
    const otherTicket = await post(
      v4Form({ key: 'post/pinned.txt', ...pinned, fields: { callback, 'x:ticket': 'ticket-2' } }),
    );
    expect(otherTicket.status).toBe(403);
    expect(await stored('post/pinned.txt')).toBe(false);
  });
});

describe('PostObject with a V1 signature', () => {
  it('accepts base64(HMAC-SHA1(secret, policy)) and refuses an anonymous form', async () => {
    const policy = Buffer.from(
      JSON.stringify({
        expiration: new Date(Date.now() + 600_000).toISOString(),
        conditions: [
          ['in', '$content-type', ['image/png', 'text/plain']],
          ['content-length-range', 0, 1024],
        ],
      }),
    ).toString('base64');
    const form = new FormData();
    form.append('key', 'post/${filename}');
    form.append('OSSAccessKeyId', h.account.root.accessKeyId);
    form.append('policy', policy);
    form.append(
      'Signature',
      createHmac('sha1', h.account.root.accessKeySecret).update(policy).digest('base64'),
    );
    form.append('Content-Type', 'text/plain');
    form.append('file', new Blob(['v1 form']), 'named-by-browser.txt');
    const response = await post(form);
    expect(response.status).toBe(204);
    expect(((await h.client().get('post/named-by-browser.txt')).content as Buffer).toString()).toBe(
      'v1 form',
    );

    const anonymous = new FormData();
    anonymous.append('key', 'post/anonymous.txt');
    anonymous.append('file', new Blob(['x']), 'a.txt');
    const refused = await post(anonymous);
    expect(refused.status).toBe(403);
    expect(await stored('post/anonymous.txt')).toBe(false);
  });
});

describe('CORS for browser uploads', () => {
  const preflight = (origin: string) =>
    rawRequest(h.oss.endpoint, {
      method: 'OPTIONS',
      path: `/${BUCKET}`,
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });

  it('answers a preflight from an allowed origin and refuses another', async () => {
    const allowed = await preflight(APP_ORIGIN);
    expect(allowed.status).toBe(200);
    expect(allowed.headers).toMatchObject({
      'access-control-allow-origin': APP_ORIGIN,
      'access-control-allow-headers': 'content-type',
    });
    expect(allowed.headers['access-control-allow-methods']).toContain('POST');
    const refused = await preflight('http://evil.example');
    expect(refused.status).toBe(403);
    expect(parseErrorXml(refused.body).Code).toBe('AccessForbidden');
  });

  it('exposes ETag to the allowed origin on the upload response', async () => {
    const response = await fetch(`${h.oss.endpoint}/${BUCKET}`, {
      method: 'POST',
      body: v4Form({ key: 'post/cors.txt' }),
      headers: { origin: APP_ORIGIN },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(response.headers.get('access-control-expose-headers')).toContain('ETag');
  });
});
