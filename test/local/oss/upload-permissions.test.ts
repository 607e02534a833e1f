/**
 * The local OSS refuses what OSS refuses to an uploader: tags set at upload need `oss:PutObjectTagging` by every route
 * (PutObject header, PostObject field, InitiateMultipartUpload header, CopyObject), and PostObject has no
 * `callback-var` field — its custom variables are its `x:` fields.
 */

import { describe, expect, it } from 'vitest';
import type { TemporaryCredential } from '../../../local/credentials.js';
import { BUCKET, ossError, REGION, startCallbackSink, startHarness } from '../../helpers/local-oss.js';
import { useForSuite } from '../../helpers/suite.js';

const h = useForSuite(() => startHarness());
const sink = useForSuite(startCallbackSink);

const PREFIX = 'uploads/alice/';
const uploaderOnly = (extra: string[] = []) =>
  h.sts({
    Version: '1',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['oss:PutObject', 'oss:AbortMultipartUpload', 'oss:ListParts', ...extra],
        Resource: `acs:oss:*:*:${BUCKET}/${PREFIX}*`,
      },
      { Effect: 'Allow', Action: 'oss:GetObject', Resource: `acs:oss:*:*:${BUCKET}/derived/*` },
    ],
  });

const STATUS_TAG = 'upcall-status=accepted';

async function tagsOf(key: string): Promise<Record<string, string>> {
  return (await h.client().getObjectTagging(key)).tag;
}

const isoBasic = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** A V4 PostObject form signed with the credential, policy pinning the key prefix and the signing fields. */
function signedForm(credential: TemporaryCredential, key: string, fields: Record<string, string>): FormData {
  const now = new Date();
  const signing: Record<string, string> = {
    'x-oss-signature-version': 'OSS4-HMAC-SHA256',
    'x-oss-credential': `${credential.accessKeyId}/${isoBasic(now).slice(0, 8)}/${REGION}/oss/aliyun_v4_request`,
    'x-oss-date': isoBasic(now),
    'x-oss-security-token': credential.securityToken,
  };
  const policy = {
    expiration: new Date(now.getTime() + 600_000).toISOString(),
    conditions: [
      { bucket: BUCKET },
      ['starts-with', '$key', PREFIX],
      ...Object.entries(signing).map(([name, value]) => ({ [name]: value })),
    ],
  };
  const form = new FormData();
  const all = {
    key,
    policy: Buffer.from(JSON.stringify(policy)).toString('base64'),
    ...signing,
    'x-oss-signature': h.stsClient(credential).signPostObjectPolicyV4(policy, now),
    ...fields,
  };
  for (const [name, value] of Object.entries(all)) form.append(name, value);
  form.append('file', new Blob([Buffer.from('form upload')], { type: 'text/plain' }), 'a.txt');
  return form;
}

const post = (form: FormData) => fetch(`${h.oss.endpoint}/${BUCKET}`, { method: 'POST', body: form });

describe('tagging at upload needs oss:PutObjectTagging', () => {
  it('PutObject: x-oss-tagging is refused without it, the same upload without tags is stored', async () => {
    const client = h.stsClient(uploaderOnly());
    const refused = await ossError(
      client.put(`${PREFIX}tagged.txt`, Buffer.from('x'), { headers: { 'x-oss-tagging': STATUS_TAG } }),
    );
    expect(refused).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(refused.message).toContain('oss:PutObjectTagging');
    await expect(h.client().head(`${PREFIX}tagged.txt`)).rejects.toMatchObject({ status: 404 });

    await client.put(`${PREFIX}plain.txt`, Buffer.from('x'));
    expect(await tagsOf(`${PREFIX}plain.txt`)).toEqual({});
  });

  it('PutObject: with the permission granted, the tags are stored', async () => {
    const client = h.stsClient(uploaderOnly(['oss:PutObjectTagging']));
    await client.put(`${PREFIX}granted.txt`, Buffer.from('x'), { headers: { 'x-oss-tagging': STATUS_TAG } });
    expect(await tagsOf(`${PREFIX}granted.txt`)).toEqual({ 'upcall-status': 'accepted' });
  });

  it('InitiateMultipartUpload: x-oss-tagging is refused before any part is sent', async () => {
    const client = h.stsClient(uploaderOnly());
    const refused = await ossError(
      client.initMultipartUpload(`${PREFIX}multi.bin`, { headers: { 'x-oss-tagging': STATUS_TAG } }),
    );
    expect(refused).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  it('CopyObject: x-oss-tagging with the Replace directive, or a tagged source copied with its tags, is refused', async () => {
    await h.client().put(`derived/${PREFIX}thumb.txt`, Buffer.from('t'));
    await h
      .client()
      .put(`derived/${PREFIX}tagged.txt`, Buffer.from('t'), { headers: { 'x-oss-tagging': STATUS_TAG } });
    const client = h.stsClient(uploaderOnly());
    const replace = await ossError(
      client.copy(`${PREFIX}copy-a.txt`, `derived/${PREFIX}thumb.txt`, {
        headers: { 'x-oss-tagging': STATUS_TAG, 'x-oss-tagging-directive': 'Replace' },
      }),
    );
    expect(replace).toMatchObject({ status: 403, code: 'AccessDenied' });
    const copied = await ossError(client.copy(`${PREFIX}copy-b.txt`, `derived/${PREFIX}tagged.txt`));
    expect(copied).toMatchObject({ status: 403, code: 'AccessDenied' });
    // An untagged source copies (GetObject on it, PutObject on the target): see the README's security model.
    await client.copy(`${PREFIX}copy-c.txt`, `derived/${PREFIX}thumb.txt`);
    expect(await tagsOf(`${PREFIX}copy-c.txt`)).toEqual({});
  });

  it('PostObject: an x-oss-tagging field is refused, the same form without it is stored', async () => {
    const credential = uploaderOnly();
    const refused = await post(signedForm(credential, `${PREFIX}post.txt`, { 'x-oss-tagging': STATUS_TAG }));
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('<Code>AccessDenied</Code>');
    const stored = await post(signedForm(credential, `${PREFIX}post.txt`, {}));
    expect(stored.status).toBe(204);
    expect(await tagsOf(`${PREFIX}post.txt`)).toEqual({});
  });
});

describe('PostObject custom variables', () => {
  it('come from x: fields only; a callback-var field is ignored', async () => {
    const callback = Buffer.from(
      JSON.stringify({
        callbackUrl: `${sink.url}/cb`,
        callbackBody: 'object=${object}&ticket=${x:ticket}&other=${x:other}',
        callbackBodyType: 'application/x-www-form-urlencoded',
      }),
    ).toString('base64');
    const smuggled = Buffer.from(JSON.stringify({ 'x:ticket': 'smuggled' })).toString('base64');
    const response = await post(
      signedForm(uploaderOnly(), `${PREFIX}vars.txt`, {
        callback,
        'callback-var': smuggled,
        'x:other': 'field',
      }),
    );
    expect(response.status).toBe(200);
    const body = new URLSearchParams(sink.received.at(-1)?.body.toString('utf8'));
    expect(body.get('other')).toBe('field');
    expect(body.get('ticket')).toBe('');
  });
});
