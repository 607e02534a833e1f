/** The local STS's AssumeRole quota (STS's 100 per second per account) and its `/_local/stats` report. */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalSts, startLocalSts } from '../../../local/sts/server.js';
import { assumeRoleWith, localStsClient, type SdkError, sdkError } from '../../helpers/alicloud-clients.js';
import { createTestAccount, type TestAccount } from '../../helpers/test-account.js';

let local: TestAccount;
const started: LocalSts[] = [];

beforeAll(() => {
  local = createTestAccount();
  local.putRole('uploader', 'oss:PutObject', 'acs:oss:*:*:bucket/*');
  local.putRole('token-fn', 'sts:AssumeRole', local.arn('uploader'));
});
afterAll(async () => {
  await Promise.all(started.map((sts) => sts.close()));
  local.close();
});

async function sts(assumeRolePerSecond?: number): Promise<LocalSts> {
  const server = await startLocalSts({
    account: local.account,
    ...(assumeRolePerSecond ? { assumeRolePerSecond } : {}),
  });
  started.push(server);
  return server;
}

/** `count` AssumeRole calls at once with the token function's role credentials: how many were served, how refused. */
async function burst(server: LocalSts, count: number) {
  const caller = local.account.issueTemporary({
    roleArn: local.arn('token-fn'),
    roleSessionName: 'fc-token',
    durationSeconds: 900,
  });
  const client = localStsClient(server.endpoint, caller);
  const startedAt = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      assumeRoleWith(client, { roleArn: local.arn('uploader'), roleSessionName: `user-${i}` }),
    ),
  );
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  const refused = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason as SdkError);
  return { served: count - refused.length, refused, elapsedSeconds };
}

async function statsOf(server: LocalSts): Promise<unknown> {
  const response = await fetch(`${server.endpoint}/_local/stats`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return response.json();
}

describe('the local STS AssumeRole quota', () => {
  it('serves the quota, refuses the rest as STS throttles, and reports both at /_local/stats', async () => {
    const server = await sts(5);
    expect(await statsOf(server)).toEqual({ AssumeRole: 0, throttled: 0 });
    const { served, refused, elapsedSeconds } = await burst(server, 30);
    // A second's worth at once, plus what the bucket refilled while the burst was being sent.
    expect(served).toBeGreaterThanOrEqual(5);
    expect(served).toBeLessThanOrEqual(5 + Math.ceil(elapsedSeconds * 5));
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toMatchObject({ statusCode: 400, code: 'Throttling.User' });
      expect(error.data.Message).toBe('Request was denied due to user flow control.');
    }
    expect(await statsOf(server)).toEqual({ AssumeRole: served, throttled: refused.length });
    expect(server.stats()).toEqual({ AssumeRole: served, throttled: refused.length });
    // Throttled calls are recorded with STS's code, and issue nothing.
    expect(server.calls().filter((call) => call.code === 'Throttling.User')).toHaveLength(refused.length);

    // The quota refills: a second later the account may call again.
    await sleep(1100);
    const after = await burst(server, 1);
    expect(after.served).toBe(1);
  });

  it('defaults to STS’s 100 calls per second', async () => {
    const server = await sts();
    const { served, refused, elapsedSeconds } = await burst(server, 300);
    expect(served).toBeGreaterThanOrEqual(100);
    expect(served).toBeLessThanOrEqual(100 + Math.ceil(elapsedSeconds * 100));
    expect(server.stats()).toEqual({ AssumeRole: served, throttled: refused.length });
  });

  it('counts AssumeRole only: refused signatures and unknown actions use no quota', async () => {
    const server = await sts(1);
    const forged = localStsClient(server.endpoint, {
      accessKeyId: local.root.accessKeyId,
      accessKeySecret: 'not-the-secret',
    });
    for (let i = 0; i < 3; i += 1) {
      const error = await sdkError(() =>
        assumeRoleWith(forged, { roleArn: local.arn('uploader'), roleSessionName: 'x1' }),
      );
      expect(error.code).toBe('SignatureDoesNotMatch');
    }
    expect(server.stats()).toEqual({ AssumeRole: 0, throttled: 0 });
    expect((await burst(server, 1)).served).toBe(1);
  });
});
