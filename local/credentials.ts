/**
 * The local cloud's account: root AccessKey and RAM roles in one JSON file under the data directory, and the
 * temporary credentials STS has issued next to it (`<file>.sts.jsonl`, live ones only, appended to — see
 * temporary-credentials.ts), so both survive a restart. OSS looks credentials up here; STS issues here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseRamPolicy, policyAllows, type RamPolicy } from './ram-policy.js';
import {
  type AccessKey,
  type TemporaryCredential,
  TemporaryCredentialStore,
} from './temporary-credentials.js';

export type { AccessKey, TemporaryCredential };

export interface LocalRole {
  arn: string;
  /** The role's own permission policy (JSON text). A session is allowed only what this AND its session policy allow. */
  policy: string;
  /** Longest session STS grants for the role (seconds), 3600 by default as on RAM. */
  maxSessionDuration: number;
}

export type CredentialLookup =
  | { kind: 'root'; key: AccessKey }
  | { kind: 'temporary'; credential: TemporaryCredential; rolePolicy: RamPolicy; sessionPolicy?: RamPolicy };

interface AccountFile {
  accountId: string;
  root: AccessKey;
  roles: LocalRole[];
  /** Where credentials were kept before they moved to their own file: read once, then dropped. */
  temporary?: TemporaryCredential[];
}

/** `2026-11-21T09:00:00Z`: STS's Expiration format (no milliseconds). */
export function stsTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function token(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export class LocalAccount {
  private state: AccountFile;
  private readonly temporary: TemporaryCredentialStore;

  constructor(
    private readonly file: string,
    defaults: { accountId?: string; roles?: LocalRole[]; maxLiveCredentials?: number } = {},
  ) {
    this.temporary = new TemporaryCredentialStore(`${file}.sts.jsonl`, defaults.maxLiveCredentials);
    if (existsSync(file)) {
      this.state = JSON.parse(readFileSync(file, 'utf8')) as AccountFile;
      const { temporary: legacy, ...rest } = this.state;
      if (legacy) {
        for (const credential of legacy) this.temporary.add(credential);
        this.state = rest;
        this.save();
      }
      for (const role of defaults.roles ?? []) this.putRole(role);
    } else {
      this.state = {
        accountId: defaults.accountId ?? '1234567890123456',
        root: { accessKeyId: `LTAI${token(12)}`, accessKeySecret: token(24) },
        roles: defaults.roles ?? [],
      };
      this.save();
    }
  }

  get accountId(): string {
    return this.state.accountId;
  }

  get root(): AccessKey {
    return this.state.root;
  }

  role(arn: string): LocalRole | undefined {
    return this.state.roles.find((role) => role.arn === arn);
  }

  /** Add or replace a role (the local stack declares the roles upcall's functions use). */
  putRole(role: LocalRole): void {
    this.state.roles = [...this.state.roles.filter((r) => r.arn !== role.arn), role];
    this.save();
  }

  /** Mint temporary credentials for a role (STS AssumeRole does the validation before calling this). */
  issueTemporary(input: {
    roleArn: string;
    roleSessionName: string;
    durationSeconds: number;
    sessionPolicy?: string;
    now?: number;
  }): TemporaryCredential {
    const now = input.now ?? Date.now();
    const credential: TemporaryCredential = {
      accessKeyId: `STS.${token(18)}`,
      accessKeySecret: token(30),
      securityToken: `CAIS${token(96)}`,
      expiration: stsTimestamp(Math.floor(now / 1000) * 1000 + input.durationSeconds * 1000),
      roleArn: input.roleArn,
      roleSessionName: input.roleSessionName,
      ...(input.sessionPolicy ? { sessionPolicy: input.sessionPolicy } : {}),
    };
    this.temporary.add(credential);
    return credential;
  }

  lookup(accessKeyId: string): CredentialLookup | undefined {
    if (accessKeyId === this.state.root.accessKeyId) return { kind: 'root', key: this.state.root };
    const credential = this.temporary.get(accessKeyId);
    if (!credential) return undefined;
    const role = this.role(credential.roleArn);
    const rolePolicy = role ? parseRamPolicy(role.policy) : undefined;
    const sessionPolicy = credential.sessionPolicy ? parseRamPolicy(credential.sessionPolicy) : undefined;
    return {
      kind: 'temporary',
      credential,
      rolePolicy: rolePolicy?.ok ? rolePolicy.policy : { statements: [] },
      ...(sessionPolicy?.ok ? { sessionPolicy: sessionPolicy.policy } : {}),
    };
  }

  /** Whether the credential may perform `action` on `resource`: root always; a session by role ∩ session policy. */
  static permits(lookup: CredentialLookup, action: string, resource: string): boolean {
    if (lookup.kind === 'root') return true;
    if (!policyAllows(lookup.rolePolicy, action, resource)) return false;
    return lookup.sessionPolicy ? policyAllows(lookup.sessionPolicy, action, resource) : true;
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    renameSync(temp, this.file);
  }
}
