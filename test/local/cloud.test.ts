import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, StackInfoSchema, startLocalCloud, writeStackInfo } from '../../local/cloud.js';
import { connectOssTrigger, type OssTriggerEvent } from '../../local/fc/oss-trigger.js';
import { createOssClient } from '../../shared/oss-client.js';
import { compileSchema } from '../../shared/schema.js';
import { assumeRoleWith, localStsClient } from '../helpers/alicloud-clients.js';
import { mediaTrigger } from '../helpers/media-trigger.js';
import { npmScriptSandbox } from '../helpers/npm-script.js';
import { allowPolicy } from '../helpers/ram-policy.js';

const BUCKET = 'upcall-test';
const stackInfo = compileSchema(StackInfoSchema);

describe('startLocalCloud', () => {
  let dir: string;
  let cloud: LocalCloud;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'upcall-'));
    cloud = await startLocalCloud({ dataDir: dir, buckets: [BUCKET] });
  });

  afterAll(async () => {
    await cloud.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a stack.json that describes the running stack', async () => {
    const file = join(dir, 'stack.json');
    writeStackInfo(file, cloud.info);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const checked = stackInfo.validate(saved);
    expect(checked.ok ? [] : checked.issues).toEqual([]);
    expect(saved).toEqual(cloud.info);
    expect(cloud.info).toMatchObject({
      region: 'cn-hangzhou',
      accountId: cloud.account.accountId,
      buckets: [BUCKET],
      rootCredentials: cloud.account.root,
      roles: { uploader: `acs:ram::${cloud.account.accountId}:role/upcall-uploader` },
    });
    for (const arn of Object.values(cloud.info.roles)) expect(cloud.account.role(arn)).toBeDefined();
    // The root key in stack.json really works against the STS endpoint in stack.json.
    const { body } = await assumeRoleWith(
      localStsClient(cloud.info.sts.endpoint, cloud.info.rootCredentials),
      {
        roleArn: cloud.info.roles.uploader,
        roleSessionName: 'stack-check',
      },
    );
    expect(body?.credentials?.accessKeyId).toMatch(/^STS\./);
  });

  it('lets the token role assume the uploader role, and an uploader session write only under its policy', async () => {
    const tokenRole = cloud.account.issueTemporary({
      roleArn: cloud.info.roles.token,
      roleSessionName: 'fc-token',
      durationSeconds: 900,
    });
    const sessionPolicy = allowPolicy('oss:PutObject', `acs:oss:*:*:${BUCKET}/uploads/alice/*`);
    const { body } = await assumeRoleWith(localStsClient(cloud.info.sts.endpoint, tokenRole), {
      roleArn: cloud.info.roles.uploader,
      roleSessionName: 'alice',
      durationSeconds: 900,
      policy: sessionPolicy,
    });
    const issued = body?.credentials;
    const oss = createOssClient({
      endpoint: cloud.info.oss.endpoint,
      region: cloud.info.region,
      bucket: BUCKET,
      credentials: {
        accessKeyId: issued?.accessKeyId ?? '',
        accessKeySecret: issued?.accessKeySecret ?? '',
        securityToken: issued?.securityToken ?? '',
      },
      timeoutMs: 5000,
    });
    const stored = await oss.put('uploads/alice/ok.txt', Buffer.from('mine'));
    expect(stored.res.status).toBe(200);
    await expect(oss.put('uploads/bob/not-mine.txt', Buffer.from('theirs'))).rejects.toMatchObject({
      status: 403,
      code: 'AccessDenied',
    });
  });

  it('delivers matching uploads to a function through an OSS trigger, as FC OSS events', async () => {
    const received: OssTriggerEvent[] = [];
    cloud.fc.register(
      'upcall-media',
      async (event) => {
        received.push(JSON.parse(event.toString('utf8')) as OssTriggerEvent);
      },
      { roleArn: cloud.info.roles.media },
    );
    const disconnect = connectOssTrigger(cloud.oss, cloud.fc, mediaTrigger('upcall-media', BUCKET));
    try {
      const oss = createOssClient({
        endpoint: cloud.info.oss.endpoint,
        region: cloud.info.region,
        bucket: BUCKET,
        credentials: cloud.info.rootCredentials,
        timeoutMs: 5000,
      });
      const put = await oss.put('uploads/carol/photo.jpg', Buffer.from('not really a jpeg'));
      await oss.put('derived/carol/thumb.webp', Buffer.from('outside the trigger prefix'));
      await cloud.fc.idle();
      expect(received).toHaveLength(1);
      const [record] = received[0]?.events ?? [];
      expect(record).toMatchObject({
        eventName: 'ObjectCreated:PutObject',
        eventSource: 'acs:oss',
        region: cloud.info.region,
        oss: {
          bucket: { name: BUCKET, arn: `acs:oss:${cloud.info.region}:${cloud.info.accountId}:${BUCKET}` },
          object: {
            key: 'uploads/carol/photo.jpg',
            size: 17,
            eTag: String((put.res.headers as Record<string, string>).etag).replaceAll('"', ''),
          },
        },
      });
      expect(cloud.fc.invocations('upcall-media')).toEqual([
        expect.objectContaining({ status: 'succeeded' }),
      ]);
    } finally {
      disconnect();
    }
  });

  it('keeps the account, root key and callback key across restarts of the same data directory', async () => {
    const again = await startLocalCloud({ dataDir: dir, buckets: [BUCKET] });
    try {
      expect(again.info.accountId).toBe(cloud.info.accountId);
      expect(again.info.rootCredentials).toEqual(cloud.info.rootCredentials);
      expect(again.info.oss.publicKeyPem).toBe(cloud.info.oss.publicKeyPem);
    } finally {
      await again.close();
    }
  });
});

describe('npm run local-cloud', () => {
  const scripts = npmScriptSandbox();

  it('prints the endpoints, writes stack.json, and exits 0 on SIGTERM', async () => {
    const { UPCALL_BUCKET: _unset, ...env } = process.env;
    const dataDir = join(scripts.dir, 'data');
    const localCloud = scripts.start(['local-cloud'], {
      ...env,
      UPCALL_LOCAL_DATA_DIR: dataDir,
      UPCALL_LOCAL_OSS_PORT: '0',
      UPCALL_LOCAL_STS_PORT: '0',
      UPCALL_LOCAL_FC_PORT: '0',
      UPCALL_LOG_LEVEL: 'silent',
    });
    await localCloud.ready('Press Ctrl-C');

    const stackFile = join(dataDir, 'stack.json');
    expect(existsSync(stackFile)).toBe(true);
    const info = JSON.parse(readFileSync(stackFile, 'utf8')) as unknown;
    const checked = stackInfo.validate(info);
    expect(checked.ok ? [] : checked.issues).toEqual([]);
    if (!checked.ok) return;
    expect(checked.value.buckets).toEqual(['upcall-local']);
    for (const endpoint of [
      checked.value.oss.endpoint,
      checked.value.sts.endpoint,
      checked.value.fc.endpoint,
    ]) {
      expect(localCloud.stdout).toContain(endpoint);
    }
    expect((await fetch(`${checked.value.fc.endpoint}/_local/invocations`)).status).toBe(200);

    localCloud.child.kill('SIGTERM');
    expect(await localCloud.exited).toBe(0);
    await expect(fetch(`${checked.value.fc.endpoint}/_local/invocations`)).rejects.toThrow();
  });
});
