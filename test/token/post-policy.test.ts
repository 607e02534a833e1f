/** The PostObject V4 form the token function signs (post-policy.ts). */
import { describe, expect, it } from 'vitest';
import { buildPostForm } from '../../functions/token/post-policy.js';
import { suggestedKey } from '../../shared/object-key.js';
import { signPostPolicyV4 } from '../../shared/oss-v4.js';

describe('PostObject V4 form', () => {
  const credentials = {
    accessKeyId: 'STS.abc',
    accessKeySecret: 'secret-key',
    securityToken: 'CAIStoken',
    expiration: '2030-01-02T03:04:05Z',
  };
  const input = {
    bucket: 'upcall-test',
    region: 'cn-hangzhou',
    endpoint: 'https://oss-cn-hangzhou.aliyuncs.com',
    credentials,
    keyPrefix: 'uploads/bob/',
    key: 'uploads/bob/photo.png',
    maxBytes: 1000,
    contentType: 'image/png',
    callback: 'Y2FsbGJhY2s=',
    callbackVars: { 'x:ticket': 'ticket-value' },
    objectMetadata: { 'x-oss-meta-upcall-ticket': 'ticket-value' },
    now: new Date('2030-01-02T02:00:00.123Z'),
  };

  it('pins the prefix, size, type, callback, every x: field, the ticket metadata and the signing fields', () => {
    const form = buildPostForm(input);
    const policy = JSON.parse(Buffer.from(form.fields.policy!, 'base64').toString());
    expect(policy.conditions).toEqual([
      { bucket: 'upcall-test' },
      ['starts-with', '$key', 'uploads/bob/'],
      ['content-length-range', 0, 1000],
      ['eq', '$content-type', 'image/png'],
      ['eq', '$success_action_status', '200'],
      ['eq', '$callback', 'Y2FsbGJhY2s='],
      ['eq', '$x:ticket', 'ticket-value'],
      ['eq', '$x-oss-meta-upcall-ticket', 'ticket-value'],
      { 'x-oss-signature-version': 'OSS4-HMAC-SHA256' },
      { 'x-oss-credential': 'STS.abc/20300102/cn-hangzhou/oss/aliyun_v4_request' },
      { 'x-oss-date': '20300102T020000Z' },
      { 'x-oss-security-token': 'CAIStoken' },
    ]);
    expect(form.fields).toMatchObject({
      key: 'uploads/bob/photo.png',
      'Content-Type': 'image/png',
      success_action_status: '200',
      callback: 'Y2FsbGJhY2s=',
      'x:ticket': 'ticket-value',
      'x-oss-meta-upcall-ticket': 'ticket-value',
      'x-oss-signature-version': 'OSS4-HMAC-SHA256',
      'x-oss-credential': 'STS.abc/20300102/cn-hangzhou/oss/aliyun_v4_request',
      'x-oss-date': '20300102T020000Z',
      'x-oss-security-token': 'CAIStoken',
      'x-oss-signature': signPostPolicyV4(credentials, 'cn-hangzhou', input.now, form.fields.policy!),
    });
    expect(form.url).toBe('https://upcall-test.oss-cn-hangzhou.aliyuncs.com');
  });

  it('expires with the credentials or after 15 minutes, whichever comes first', () => {
    expect(buildPostForm(input).expiration).toBe('2030-01-02T02:15:00.123Z');
    const late = buildPostForm({ ...input, now: new Date('2030-01-02T03:00:00Z') });
    expect(late.expiration).toBe('2030-01-02T03:04:05.000Z');
    const policy = JSON.parse(Buffer.from(late.fields.policy!, 'base64').toString());
    expect(Date.parse(policy.expiration)).toBeLessThanOrEqual(Date.parse(credentials.expiration));
  });

  it('suggests unique keys under the prefix with a key-safe file name', () => {
    const a = suggestedKey('uploads/bob/', '../My Photo (1).PNG');
    expect(a).toMatch(/^uploads\/bob\/[0-9a-f-]{36}\/My_Photo_1_.PNG$/);
    expect(suggestedKey('uploads/bob/')).toMatch(/^uploads\/bob\/[0-9a-f-]{36}$/);
    expect(suggestedKey('p/', '...')).toMatch(/\/file$/);
    expect(suggestedKey('p/', 'x')).not.toBe(suggestedKey('p/', 'x'));
  });
});
