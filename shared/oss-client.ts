/** The OSS client the functions use (ali-oss), built the same way everywhere: V4 signatures, explicit endpoint. */
import { isIP } from 'node:net';
import OSS from 'ali-oss';
import type { RoleCredentials } from './http/edge.js';

export interface OssClientOptions {
  /** e.g. `https://oss-cn-hangzhou-internal.aliyuncs.com`, or the local cloud's `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** Region id without `oss-`, e.g. `cn-hangzhou`. */
  region: string;
  bucket: string;
  credentials: RoleCredentials;
  /** Per-request timeout in ms (ali-oss default is 60 s, far too long inside a callback). */
  timeoutMs?: number;
}

/** ali-oss methods its published types (`@types/ali-oss`) leave out. */
interface MissingFromTypes {
  putObjectTagging(
    name: string,
    tag: Record<string, string>,
    options?: { timeout?: number },
  ): Promise<unknown>;
  getObjectTagging(name: string, options?: { timeout?: number }): Promise<{ tag: Record<string, string> }>;
}

export type OssClient = OSS & MissingFromTypes;

export function createOssClient(options: OssClientOptions): OssClient {
  return new OSS({
    endpoint: options.endpoint,
    region: `oss-${options.region}`,
    bucket: options.bucket,
    accessKeyId: options.credentials.accessKeyId,
    accessKeySecret: options.credentials.accessKeySecret,
    // FC hands fresh role credentials to every invocation, so there is nothing to refresh; naming an interval
    // (without a refresh function) only stops ali-oss's console.warn about it on every client.
    ...(options.credentials.securityToken
      ? { stsToken: options.credentials.securityToken, refreshSTSTokenInterval: 3_600_000 }
      : {}),
    authorizationV4: true,
    timeout: options.timeoutMs ?? 60_000,
  }) as OssClient;
}

/**
 * A presigned GET URL (V4, like every other request of these clients; ali-oss's V1 `signatureUrl` is deprecated and
 * refuses IP endpoints). Only the host is signed, so the reader may add headers (Range, If-Match).
 */
export async function presignedGetUrl(client: OSS, key: string, expiresSeconds: number): Promise<string> {
  const signed = new URL(await client.signatureUrlV4('GET', expiresSeconds, undefined, key));
  // On an IP endpoint (the local cloud) ali-oss names the bucket in the Host header, which a URL cannot carry:
  // address it path-style instead. V4 signs `/<bucket>/<key>` in both styles, so the signature still holds.
  if (isIP(signed.hostname.replace(/^\[|\]$/g, '')) !== 0) {
    const { bucket } = (client as unknown as { options: { bucket?: string } }).options;
    if (!bucket) throw new Error('the OSS client has no bucket');
    signed.pathname = `/${bucket}${signed.pathname}`;
  }
  return signed.toString();
}
