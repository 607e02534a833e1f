/** A LocalAccount of its own in a fresh data dir: for testing one stand-in (STS, FC) without the whole local cloud. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAccount } from '../../local/credentials.js';
import type { ClientCredentials } from './alicloud-clients.js';
import { allowPolicy } from './ram-policy.js';

export interface TestAccount {
  account: LocalAccount;
  /** The data dir the account file is in (removed by close()). */
  dir: string;
  /** The root key, as SDK client credentials. */
  root: ClientCredentials;
  /** `acs:ram::<account id>:role/<name>`. */
  arn(name: string): string;
  /** Declare the role `name`, allowed `action` on `resource` (sessions up to `maxSessionDuration` s, RAM's 3600 by default). */
  putRole(name: string, action: string, resource: string, maxSessionDuration?: number): void;
  /** Remove the data dir. */
  close(): void;
}

export function createTestAccount(): TestAccount {
  const dir = mkdtempSync(join(tmpdir(), 'upcall-'));
  const account = new LocalAccount(join(dir, 'account.json'));
  const arn = (name: string) => `acs:ram::${account.accountId}:role/${name}`;
  return {
    account,
    dir,
    root: { ...account.root },
    arn,
    putRole(name, action, resource, maxSessionDuration = 3600) {
      account.putRole({ arn: arn(name), policy: allowPolicy(action, resource), maxSessionDuration });
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
