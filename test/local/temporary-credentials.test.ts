/** The local account's issued STS credentials: appended, live ones only, bounded, shared across processes. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalAccount } from '../../local/credentials.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'upcall-creds-'));
  file = join(dir, 'account.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ROLE = 'acs:ram::1234567890123456:role/uploader';
const issue = (account: LocalAccount, options: { now?: number; durationSeconds?: number } = {}) =>
  account.issueTemporary({ roleArn: ROLE, roleSessionName: 'alice', durationSeconds: 900, ...options });
const lines = () =>
  readFileSync(`${file}.sts.jsonl`, 'utf8')
    .split('\n')
    .filter((line) => line !== '');

describe('issued STS credentials', () => {
  it('appends one line per credential and never rewrites the account file', () => {
    const account = new LocalAccount(file);
    account.putRole({ arn: ROLE, policy: '{"Version":"1","Statement":[]}', maxSessionDuration: 3600 });
    const accountFile = readFileSync(file, 'utf8');
    issue(account);
    const sizeAfterOne = statSync(`${file}.sts.jsonl`).size;
    for (let i = 0; i < 99; i += 1) issue(account);
    expect(lines()).toHaveLength(100);
    // Each issue adds about one credential's worth, whatever was issued before.
    expect(statSync(`${file}.sts.jsonl`).size).toBeLessThan(sizeAfterOne * 101);
    expect(readFileSync(file, 'utf8')).toBe(accountFile);
  });

  it('keeps live credentials across a restart and forgets long-expired ones', () => {
    const account = new LocalAccount(file);
    const live = issue(account);
    const stale = issue(account, { now: Date.now() - 3 * 86_400_000 });
    expect(account.lookup(stale.accessKeyId)).toBeUndefined();
    const restarted = new LocalAccount(file);
    expect(restarted.lookup(live.accessKeyId)).toMatchObject({ kind: 'temporary', credential: live });
    expect(restarted.lookup(stale.accessKeyId)).toBeUndefined();
    // The file was compacted at start: only the live one is left.
    expect(lines()).toHaveLength(1);
  });

  it('bounds what it keeps: beyond the limit the oldest credential is forgotten', () => {
    const account = new LocalAccount(file, { maxLiveCredentials: 3 });
    const issued = Array.from({ length: 5 }, () => issue(account));
    expect(issued.map((c) => account.lookup(c.accessKeyId) !== undefined)).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
  });

  it('compacts the file so it stays proportional to the live credentials', () => {
    const account = new LocalAccount(file, { maxLiveCredentials: 10 });
    for (let i = 0; i < 3000; i += 1) issue(account);
    expect(lines().length).toBeLessThanOrEqual(2 * 10 + 1000 + 1);
    const last = issue(account);
    expect(new LocalAccount(file, { maxLiveCredentials: 10 }).lookup(last.accessKeyId)).toBeDefined();
  });

  it('finds credentials another process issued since, even across its compaction', () => {
    const stsProcess = new LocalAccount(file, { maxLiveCredentials: 5 });
    const ossProcess = new LocalAccount(file, { maxLiveCredentials: 5 });
    const first = issue(stsProcess);
    expect(ossProcess.lookup(first.accessKeyId)).toBeDefined();
    // Enough to make the issuing side rewrite (and replace) the file.
    for (let i = 0; i < 1100; i += 1) issue(stsProcess);
    const latest = issue(stsProcess);
    expect(ossProcess.lookup(latest.accessKeyId)).toMatchObject({ credential: latest });
    expect(ossProcess.lookup('STS.unknown')).toBeUndefined();
  });

  it('moves credentials an older account file held into the new file', () => {
    const expiration = new Date(Date.now() + 600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const legacy = {
      accessKeyId: 'STS.legacy',
      accessKeySecret: 'secret',
      securityToken: 'CAISlegacy',
      expiration,
      roleArn: ROLE,
      roleSessionName: 'alice',
    };
    writeFileSync(
      file,
      JSON.stringify({
        accountId: '1234567890123456',
        root: { accessKeyId: 'LTAIroot', accessKeySecret: 'root-secret' },
        roles: [],
        temporary: [legacy],
      }),
    );
    const account = new LocalAccount(file);
    expect(account.lookup('STS.legacy')).toMatchObject({ credential: legacy });
    expect(JSON.parse(readFileSync(file, 'utf8')).temporary).toBeUndefined();
    expect(account.root.accessKeyId).toBe('LTAIroot');
  });
});
