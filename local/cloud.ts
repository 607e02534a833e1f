/**
 * The whole local cloud in one call: OSS, STS, FC and KMS stand-ins sharing one account (`<dataDir>/account.json`) and one
 * callback signing key (`<dataDir>/keys/callback.pem`), with the RAM roles upcall's functions run as. `StackInfo` is
 * what a developer or a test needs to point clients at it; `writeStackInfo` saves it as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LocalAccount, type LocalRole } from './credentials.js';
import { type LocalFc, startLocalFc } from './fc/server.js';
import { type LocalKms, startLocalKms } from './kms/server.js';
import { loadOrCreateCallbackSigningKey } from './oss/callback-signing.js';
import { type LocalOss, startLocalOss } from './oss/server.js';
import type { StackInfo } from './stack-info.js';
import { type LocalSts, startLocalSts } from './sts/server.js';

export { type StackInfo, StackInfoSchema } from './stack-info.js';

/** The bucket the local cloud serves when `UPCALL_BUCKET` is unset (it is required everywhere else). */
export const LOCAL_BUCKET = 'upcall-local';

export type UpcallRole = keyof StackInfo['roles'];

export interface LocalCloudOptions {
  dataDir: string;
  /** Default `cn-hangzhou`. */
  region?: string;
  buckets: string[];
  /** Ports to listen on (0 or absent: any free port). */
  ports?: { oss?: number; sts?: number; fc?: number; kms?: number };
  /** The local STS's AssumeRole quota per second (STS's: 100, the default). */
  stsAssumeRolePerSecond?: number;
  /** How long the local OSS waits for a callback answer. */
  callbackTimeoutMs?: number;
  /** Browser origins the buckets' CORS rule allows (a page that uploads with a PostObject form); none by default. */
  corsAllowedOrigins?: string[];
}

export interface LocalCloud {
  info: StackInfo;
  account: LocalAccount;
  oss: LocalOss;
  sts: LocalSts;
  fc: LocalFc;
  kms: LocalKms;
  close(): Promise<void>;
}

const policy = (...statements: Array<{ Action: string[]; Resource: string[] }>) =>
  JSON.stringify({ Version: '1', Statement: statements.map((s) => ({ Effect: 'Allow', ...s })) });

/**
 * The roles upcall runs as: the uploader role the token function hands out (narrowed per user by a session policy),
 * and one role per function with just what that function calls.
 */
export function upcallRoles(
  accountId: string,
  region: string,
  buckets: string[],
): Record<UpcallRole, LocalRole> {
  const arn = (name: string) => `acs:ram::${accountId}:role/${name}`;
  const objects = buckets.map((bucket) => `acs:oss:*:*:${bucket}/*`);
  // Each function reads its own secrets from KMS; upcall's secrets are named `upcall-…` (README "Deploy").
  const secrets = {
    Action: ['kms:GetSecretValue'],
    Resource: [`acs:kms:${region}:${accountId}:secret/upcall-*`],
  };
  const role = (name: string, document: string): LocalRole => ({
    arn: arn(name),
    policy: document,
    maxSessionDuration: 3600,
  });
  return {
    uploader: role(
      'upcall-uploader',
      policy({
        Action: ['oss:*'],
        Resource: [...buckets.map((bucket) => `acs:oss:*:*:${bucket}`), ...objects],
      }),
    ),
    // token: AssumeRole of the uploader role, with each user's session policy; and the uploads it signs itself
    // (PostObject form, presigned PUT, presigned multipart), which need no AssumeRole.
    token: role(
      'upcall-token',
      policy(
        { Action: ['sts:AssumeRole'], Resource: [arn('upcall-uploader')] },
        { Action: ['oss:PutObject', 'oss:AbortMultipartUpload', 'oss:ListParts'], Resource: objects },
        secrets,
      ),
    ),
    // callback: HeadObject (oss:GetObject), tagging refused uploads, dispatching media jobs.
    callback: role(
      'upcall-callback',
      policy(
        { Action: ['oss:GetObject', 'oss:PutObjectTagging'], Resource: objects },
        { Action: ['fc:InvokeFunction'], Resource: [`acs:fc:${region}:${accountId}:functions/*`] },
        secrets,
      ),
    ),
    // media: reads originals and their tags, tags the uploads its trigger path refuses, writes derived outputs,
    // manifests and job leases, and dispatches its own jobs (the OSS trigger path re-queues with the job's task id).
    media: role(
      'upcall-media',
      policy(
        {
          Action: ['oss:GetObject', 'oss:GetObjectTagging', 'oss:PutObjectTagging', 'oss:PutObject'],
          Resource: objects,
        },
        { Action: ['fc:InvokeFunction'], Resource: [`acs:fc:${region}:${accountId}:functions/*`] },
        secrets,
      ),
    ),
  };
}

export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const region = options.region ?? 'cn-hangzhou';
  if (options.buckets.length === 0) throw new Error('the local cloud needs at least one bucket');
  const account = new LocalAccount(join(options.dataDir, 'account.json'));
  const roles = upcallRoles(account.accountId, region, options.buckets);
  for (const role of Object.values(roles)) account.putRole(role);
  const callbackKey = loadOrCreateCallbackSigningKey(join(options.dataDir, 'keys', 'callback.pem'));

  const started: Array<{ close(): Promise<void> }> = [];
  const closeAll = async () => {
    const results = await Promise.allSettled(started.map((service) => service.close()));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  };
  try {
    const oss = await startLocalOss({
      dataDir: join(options.dataDir, 'oss'),
      account,
      buckets: options.buckets,
      region,
      callbackKey,
      ...(options.ports?.oss !== undefined ? { port: options.ports.oss } : {}),
      ...(options.callbackTimeoutMs !== undefined ? { callbackTimeoutMs: options.callbackTimeoutMs } : {}),
      ...(options.corsAllowedOrigins ? { corsAllowedOrigins: options.corsAllowedOrigins } : {}),
    });
    started.push(oss);
    const sts = await startLocalSts({
      account,
      ...(options.stsAssumeRolePerSecond !== undefined
        ? { assumeRolePerSecond: options.stsAssumeRolePerSecond }
        : {}),
      ...(options.ports?.sts !== undefined ? { port: options.ports.sts } : {}),
    });
    started.push(sts);
    const fc = await startLocalFc({
      account,
      region,
      dataDir: join(options.dataDir, 'fc'),
      ...(options.ports?.fc !== undefined ? { port: options.ports.fc } : {}),
    });
    started.push(fc);
    const kms = await startLocalKms({
      account,
      region,
      ...(options.ports?.kms !== undefined ? { port: options.ports.kms } : {}),
    });
    started.push(kms);
    const info: StackInfo = {
      region,
      accountId: account.accountId,
      buckets: [...options.buckets],
      oss: {
        endpoint: oss.endpoint,
        publicKeyUrl: oss.publicKeyUrl,
        trustedKeyUrlPrefix: oss.trustedKeyUrlPrefix,
        publicKeyPem: oss.publicKeyPem,
      },
      sts: { endpoint: sts.endpoint },
      fc: { endpoint: fc.endpoint },
      kms: { endpoint: kms.endpoint },
      rootCredentials: { ...account.root },
      roles: {
        uploader: roles.uploader.arn,
        token: roles.token.arn,
        callback: roles.callback.arn,
        media: roles.media.arn,
      },
    };
    return { info, account, oss, sts, fc, kms, close: closeAll };
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
}

/** Save the stack info as JSON (owner-only: it holds the root key). */
export function writeStackInfo(file: string, info: StackInfo): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}
