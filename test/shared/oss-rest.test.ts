/**
 * The callback's hand-written OSS requests (signed by shared/oss-v4.ts, tested in test/shared/oss-v4.test.ts):
 * HeadObject and PutObjectTagging against the local OSS stand-in (which verifies V4 on its own), path-style and virtual-hosted,
 * with the callback role's STS credentials, and their failures.
 */
import dns from 'node:dns';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOssObjectStore } from '../../functions/callback/object-store.js';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import { listen } from '../../local/listen.js';
import { createOssClient } from '../../shared/oss-client.js';
import { createOssRestClient, OssRequestError } from '../../shared/oss-rest.js';
import { allowPolicy } from '../helpers/ram-policy.js';

const BUCKET = 'upcall-rest';
const KEY = 'uploads/alice/a b+c%ü(1)*.jpg';
let dataDir: string;
let cloud: LocalCloud;
let root: ReturnType<typeof createOssClient>;
let callbackCredentials: { accessKeyId: string; accessKeySecret: string; securityToken: string };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'upcall-'));
  cloud = await startLocalCloud({ dataDir, buckets: [BUCKET] });
  root = createOssClient({
    endpoint: cloud.info.oss.endpoint,
    region: cloud.info.region,
    bucket: BUCKET,
    credentials: cloud.info.rootCredentials,
  });
  await root.put(KEY, Buffer.from('jpeg bytes'), { mime: 'image/jpeg' });
  const { accessKeyId, accessKeySecret, securityToken } = cloud.account.issueTemporary({
    roleArn: cloud.info.roles.callback,
    roleSessionName: 'upcall-callback',
    durationSeconds: 900,
  });
  callbackCredentials = { accessKeyId, accessKeySecret, securityToken };
});

afterAll(async () => {
  await cloud?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const store = (credentials = callbackCredentials, endpoint = cloud.info.oss.endpoint) =>
  createOssObjectStore({ endpoint, region: cloud.info.region, bucket: BUCKET, credentials });

describe('the callback object store against the local OSS (V4 verified there)', () => {
  it('HeadObject with the callback role: etag, size, type and Last-Modified of a key needing escapes', async () => {
    const stored = await store().head(KEY, 2000);
    const expected = (await root.head(KEY)).res.headers as Record<string, string>;
    expect(stored).toEqual({
      etag: (expected.etag ?? '').replaceAll('"', ''),
      size: 10,
      contentType: 'image/jpeg',
      lastModified: Date.parse(expected['last-modified'] ?? ''),
      ticket: '',
    });
  });

  it('HeadObject of a missing key is null', async () => {
    expect(await store().head('uploads/alice/none.jpg', 2000)).toBeNull();
  });

  it('PutObjectTagging replaces the tags, values XML-escaped', async () => {
    await store().tag(KEY, { 'upcall-status': 'rejected', 'upcall-reason': 'a&b<c>"d\'' }, 2000);
    const tagged = await (
      root as typeof root & { getObjectTagging(k: string): Promise<{ tag: Record<string, string> }> }
    ).getObjectTagging(KEY);
    expect(tagged.tag).toEqual({ 'upcall-status': 'rejected', 'upcall-reason': 'a&b<c>"d\'' });
  });

  it("a wrong secret is refused with OSS's SignatureDoesNotMatch", async () => {
    const forged = { ...callbackCredentials, accessKeySecret: 'wrong-secret' };
    const error = await store(forged)
      .head(KEY, 2000)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OssRequestError);
    expect((error as OssRequestError).status).toBe(403);
    const tagging = await store(forged)
      .tag(KEY, { a: 'b' }, 2000)
      .catch((e: unknown) => e);
    expect(tagging).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  it("OSS's errors carry its XML code: NoSuchBucket, and AccessDenied outside the role's policy", async () => {
    const elsewhere = createOssRestClient({
      endpoint: cloud.info.oss.endpoint,
      region: cloud.info.region,
      bucket: 'someone-else',
      credentials: callbackCredentials,
    });
    const missing = await elsewhere.putTagging('x.jpg', { a: 'b' }, 2000).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OssRequestError);
    expect(missing).toMatchObject({ status: 404, code: 'NoSuchBucket' });
    expect((missing as OssRequestError).requestId).toBeTruthy();

    // A session allowed only PutObject may not tag.
    const putOnly = cloud.account.issueTemporary({
      roleArn: cloud.info.roles.uploader,
      roleSessionName: 'put-only',
      durationSeconds: 900,
      sessionPolicy: allowPolicy('oss:PutObject', `acs:oss:*:*:${BUCKET}/*`),
    });
    const denied = await store(putOnly)
      .tag(KEY, { a: 'b' }, 2000)
      .catch((e: unknown) => e);
    expect(denied).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  it('virtual-hosted addressing on a named endpoint (Host: <bucket>.<endpoint>, path /<key>)', async () => {
    const port = new URL(cloud.info.oss.endpoint).port;
    const named = `oss-${cloud.info.region}.aliyuncs.com`;
    // Resolve the OSS domain to loopback, as a hosts file pointing it at the local cloud would.
    const original = dns.lookup;
    const lookup = vi
      .spyOn(dns, 'lookup')
      .mockImplementation(((hostname: string, options: unknown, callback: unknown) =>
        (original as (...args: unknown[]) => void)(
          hostname.endsWith('.aliyuncs.com') ? '127.0.0.1' : hostname,
          options,
          callback,
        )) as typeof dns.lookup);
    try {
      const stored = await store(callbackCredentials, `http://${named}:${port}`).head(KEY, 2000);
      expect(stored?.size).toBe(10);
      expect(lookup).toHaveBeenCalledWith(`${BUCKET}.${named}`, expect.anything(), expect.anything());
    } finally {
      lookup.mockRestore();
    }
  });

  it('path-style on localhost, where no <bucket>.localhost resolves', async () => {
    const port = new URL(cloud.info.oss.endpoint).port;
    const stored = await store(callbackCredentials, `http://localhost:${port}`).head(KEY, 2000);
    expect(stored?.size).toBe(10);
  });
});

describe('transport failures', () => {
  let silent: Server;
  let endpoint: string;
  beforeAll(async () => {
    // Accepts the request and never answers.
    silent = createServer(() => undefined);
    ({ endpoint } = await listen(silent));
  });
  afterAll(() => {
    silent.closeAllConnections();
    silent.close();
  });

  it('no answer within the timeout: RequestTimeout, on time', async () => {
    const started = Date.now();
    const error = await store(callbackCredentials, endpoint)
      .head(KEY, 150)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'OssRequestError', code: 'RequestTimeout' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('nothing listening: NetworkError', async () => {
    const closed = createServer();
    const { endpoint: gone } = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const error = await store(callbackCredentials, gone)
      .head(KEY, 1000)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'OssRequestError', code: 'NetworkError' });
  });
});
