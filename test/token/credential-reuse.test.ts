/** STS credentials reused per user: while half their lifetime remains, one AssumeRole for concurrent asks, errors not kept. */
import { describe, expect, it } from 'vitest';
import { reusingCredentials } from '../../functions/token/credential-reuse.js';
import { type AssumeRoleInput, StsError } from '../../functions/token/sts.js';

const caller = { accessKeyId: 'fn', accessKeySecret: 's' };
const input = (user: string): AssumeRoleInput => ({
  roleArn: 'acs:ram::1:role/upcall-uploader',
  roleSessionName: `upcall-${user}`,
  policy: `{"user":"${user}"}`,
  durationSeconds: 3600,
});

/** A fake STS on a fake clock: numbered credentials valid for the requested duration; `fail` makes the next call throw. */
function fakeSts() {
  let clock = Date.UTC(2026, 11, 3, 8, 0, 0);
  let calls = 0;
  let fail = false;
  const assumeRole = async (_caller: unknown, request: AssumeRoleInput) => {
    calls += 1;
    const number = calls;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (fail) {
      fail = false;
      throw new StsError('throttled', 'Throttling.User', 'quota', undefined);
    }
    const expiration = new Date(clock + request.durationSeconds * 1000)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    return { accessKeyId: `STS.${number}`, accessKeySecret: 'x', securityToken: 't', expiration };
  };
  return {
    assumeRole,
    now: () => clock,
    advance: (ms: number) => {
      clock += ms;
    },
    calls: () => calls,
    failNext: () => {
      fail = true;
    },
  };
}

describe('credentials reused per user', () => {
  it('reuses a user’s credentials while half their lifetime remains, then asks STS again', async () => {
    const sts = fakeSts();
    const reuse = reusingCredentials(sts.assumeRole, sts.now);
    const first = await reuse(caller, input('alice'));
    sts.advance(29 * 60_000);
    expect(await reuse(caller, input('alice'))).toEqual(first);
    expect(sts.calls()).toBe(1);
    sts.advance(2 * 60_000);
    expect((await reuse(caller, input('alice'))).accessKeyId).toBe('STS.2');
  });

  it('never hands one user’s credentials to another, and shares one AssumeRole among concurrent asks', async () => {
    const sts = fakeSts();
    const reuse = reusingCredentials(sts.assumeRole, sts.now);
    const [a1, a2, b] = await Promise.all([
      reuse(caller, input('alice')),
      reuse(caller, input('alice')),
      reuse(caller, input('bob')),
    ]);
    expect(a1).toEqual(a2);
    expect(b.accessKeyId).not.toBe(a1.accessKeyId);
    expect(sts.calls()).toBe(2);
  });

  it('keeps no failure: a throttled AssumeRole is answered as such, and the next ask tries again', async () => {
    const sts = fakeSts();
    const reuse = reusingCredentials(sts.assumeRole, sts.now);
    sts.failNext();
    await expect(reuse(caller, input('alice'))).rejects.toBeInstanceOf(StsError);
    expect((await reuse(caller, input('alice'))).accessKeyId).toBe('STS.2');
  });
});
