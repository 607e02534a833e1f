/**
 * The product's one OSS V4 signer: the Authorization header and presigned URLs against the published SDK vectors,
 * the PostObject signature against ali-oss's, presigned URLs against the local OSS (which verifies V4 with its own
 * code), and where each endpoint puts the bucket.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import {
  bucketAddress,
  encodeQuery,
  MAX_PRESIGN_SECONDS,
  type OssV4Request,
  presignOssV4,
  signOssV4,
  signPostPolicyV4,
} from '../../shared/oss-v4.js';
import { OSS_V4_HEADER_VECTORS, OSS_V4_QUERY_VECTORS, signingVector } from '../helpers/signing-vectors.js';

function vectorRequest(id: string) {
  const { inputs, expected } = signingVector(id);
  const request: OssV4Request = {
    method: inputs.method,
    bucket: inputs.bucket,
    key: inputs.key,
    query: inputs.query,
    headers: inputs.headers_before_signing,
    additionalHeaders: inputs.additional_headers_requested,
  };
  const credentials = {
    accessKeyId: inputs.access_key_id,
    accessKeySecret: inputs.access_key_secret,
    ...(inputs.security_token ? { securityToken: inputs.security_token } : {}),
  };
  return { inputs, expected, request, credentials, now: new Date(inputs.sign_time_unix * 1000) };
}

describe('signOssV4: the Authorization header (published SDK vectors)', () => {
  for (const id of OSS_V4_HEADER_VECTORS) {
    it(id, () => {
      const { inputs, expected, request, credentials, now } = vectorRequest(id);
      const headers = signOssV4(request, credentials, inputs.region, now);
      expect(headers.authorization).toBe(expected.authorization);
      for (const [name, value] of Object.entries(inputs.headers_added_by_signer)) {
        expect(headers[name], name).toBe(value);
      }
    });
  }
});

describe('presignOssV4: presigned URLs (published SDK vectors)', () => {
  for (const id of OSS_V4_QUERY_VECTORS) {
    it(id, () => {
      const { inputs, expected, request, credentials, now } = vectorRequest(id);
      const query = new Map(presignOssV4(request, credentials, inputs.region, now, inputs.expires_seconds));
      for (const [name, value] of Object.entries(expected)) expect(query.get(name), name).toBe(value);
      expect(query.get('x-oss-signature-version')).toBe('OSS4-HMAC-SHA256');
      expect(query.get('x-oss-security-token')).toBe(inputs.security_token ?? undefined);
      if (!expected['x-oss-additional-headers']) expect(query.has('x-oss-additional-headers')).toBe(false);
      // The request's own parameters stay first, in their order.
      expect([...query.keys()].slice(0, 6)).toEqual(inputs.query.map(([name]) => name));
    });
  }

  it('refuses a lifetime OSS would not accept', () => {
    const { request, credentials, now } = vectorRequest(OSS_V4_QUERY_VECTORS[0] as string);
    for (const seconds of [0, -1, 1.5, MAX_PRESIGN_SECONDS + 1]) {
      expect(() => presignOssV4(request, credentials, 'cn-hangzhou', now, seconds)).toThrow(RangeError);
    }
  });
});

describe('signPostPolicyV4', () => {
  it('signs exactly as ali-oss signPostObjectPolicyV4 does', () => {
    const client = new OSS({
      accessKeyId: 'id',
      accessKeySecret: 'the-secret',
      region: 'oss-cn-shanghai',
      bucket: 'bkt',
    }) as unknown as { signPostObjectPolicyV4(policy: string, date: Date): string };
    const policy = { expiration: '2030-01-01T00:00:00.000Z', conditions: [{ bucket: 'b' }] };
    const encoded = Buffer.from(JSON.stringify(policy)).toString('base64');
    const date = new Date('2029-12-31T23:59:00Z');
    const credentials = { accessKeyId: 'id', accessKeySecret: 'the-secret' };
    expect(signPostPolicyV4(credentials, 'cn-shanghai', date, encoded)).toBe(
      client.signPostObjectPolicyV4(JSON.stringify(policy), date),
    );
  });
});

describe('bucketAddress: path-style on an IP literal or localhost, virtual-hosted on a named host', () => {
  it.each([
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000/b1', '127.0.0.1:9000', '/b1/a%20b/c'],
    ['http://localhost:9000/', 'http://localhost:9000/b1', 'localhost:9000', '/b1/a%20b/c'],
    ['http://[::1]:9000', 'http://[::1]:9000/b1', '[::1]:9000', '/b1/a%20b/c'],
    [
      'https://oss-cn-beijing.aliyuncs.com',
      'https://b1.oss-cn-beijing.aliyuncs.com',
      'b1.oss-cn-beijing.aliyuncs.com',
      '/a%20b/c',
    ],
  ])('%s', (endpoint, url, host, path) => {
    const address = bucketAddress(endpoint, 'b1');
    expect(address.url).toBe(url);
    expect(address.host).toBe(host);
    expect(address.path('a b/c')).toBe(path);
  });
});

describe('presigned requests against the local OSS', () => {
  const BUCKET = 'upcall-presign';
  let dataDir: string;
  let cloud: LocalCloud;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'upcall-'));
    cloud = await startLocalCloud({ dataDir, buckets: [BUCKET] });
  });
  afterAll(async () => {
    await cloud?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function presignedPut(key: string, headers: Record<string, string>) {
    const address = bucketAddress(cloud.info.oss.endpoint, BUCKET);
    const { accessKeyId, accessKeySecret, securityToken } = cloud.account.issueTemporary({
      roleArn: cloud.info.roles.uploader,
      roleSessionName: 'presign-test',
      durationSeconds: 900,
    });
    const query = presignOssV4(
      { method: 'PUT', bucket: BUCKET, key, query: [], headers },
      { accessKeyId, accessKeySecret, securityToken },
      cloud.info.region,
      new Date(),
      60,
    );
    return `${address.origin.origin}${address.path(key)}?${encodeQuery(query)}`;
  }

  it('accepts a presigned PUT sent with exactly its signed headers, a key needing escapes included', async () => {
    const key = 'uploads/a b+c%ü(1)*.txt';
    const headers = { 'content-type': 'text/plain', 'x-oss-meta-note': 'signed' };
    const answer = await fetch(presignedPut(key, headers), { method: 'PUT', headers, body: 'hello' });
    expect(answer.status, await answer.text()).toBe(200);
  });

  it('refuses it when a signed header changes or an x-oss-* header is added', async () => {
    const headers = { 'content-type': 'text/plain', 'x-oss-meta-note': 'signed' };
    const url = presignedPut('uploads/b.txt', headers);
    const changed = await fetch(url, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'text/html' },
      body: 'x',
    });
    expect(changed.status).toBe(403);
    expect(await changed.text()).toContain('SignatureDoesNotMatch');
    const added = await fetch(url, {
      method: 'PUT',
      headers: { ...headers, 'x-oss-meta-other': 'unsigned' },
      body: 'x',
    });
    expect(added.status).toBe(403);
  });
});
