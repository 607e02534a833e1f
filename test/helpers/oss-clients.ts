/**
 * ali-oss against the local cloud as its two kinds of caller use it: an app user with temporary credentials of the
 * uploader role narrowed to `uploads/<user>/*`, and the account owner with the root key. Both keep ali-oss's
 * defaults (V1 signatures), as an app that configures nothing else would.
 */
import OSS from 'ali-oss';
import type { LocalCloud } from '../../local/cloud.js';
import { allowPolicy } from './ram-policy.js';

/** ali-oss with the root key, plus the tagging read @types/ali-oss leaves out. */
export type RootOssClient = OSS & {
  getObjectTagging(name: string): Promise<{ tag: Record<string, string> }>;
};

/** `user`'s client: a one-hour uploader session whose session policy allows `actions` on `uploads/<user>/*` only. */
export function userOssClient(
  cloud: LocalCloud,
  bucket: string,
  user: string,
  actions: string[] = ['oss:PutObject'],
): OSS {
  const credential = cloud.account.issueTemporary({
    roleArn: cloud.info.roles.uploader,
    roleSessionName: `user-${user}`,
    durationSeconds: 3600,
    sessionPolicy: allowPolicy(actions, `acs:oss:*:*:${bucket}/uploads/${user}/*`),
  });
  return new OSS({
    endpoint: cloud.info.oss.endpoint,
    region: `oss-${cloud.info.region}`,
    bucket,
    accessKeyId: credential.accessKeyId,
    accessKeySecret: credential.accessKeySecret,
    stsToken: credential.securityToken,
    // Naming an interval (no refresh function) only stops ali-oss's console.warn; the session outlives the test.
    refreshSTSTokenInterval: 3_600_000,
  });
}

/** The account owner's client (root key), which sees and may do everything. */
export function rootOssClient(cloud: LocalCloud, bucket: string): RootOssClient {
  return new OSS({
    endpoint: cloud.info.oss.endpoint,
    region: `oss-${cloud.info.region}`,
    bucket,
    ...cloud.info.rootCredentials,
  }) as RootOssClient;
}

/** An object parsed as JSON, read with `client` (the root key, or any client allowed to). */
export async function readJson<T = unknown>(client: Pick<OSS, 'get'>, key: string): Promise<T> {
  const result = await client.get(key);
  return JSON.parse(Buffer.from(result.content as Uint8Array).toString('utf8')) as T;
}
