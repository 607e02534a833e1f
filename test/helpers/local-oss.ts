/** Shared setup for the local OSS tests: a fresh data dir, account, stand-in, ali-oss clients and a callback sink. */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { XMLParser } from 'fast-xml-parser';
import { LocalAccount, type TemporaryCredential } from '../../local/credentials.js';
import { type CallbackSigningKey, generateCallbackSigningKey } from '../../local/oss/callback-signing.js';
import { type LocalOss, startLocalOss } from '../../local/oss/server.js';

export const REGION = 'cn-hangzhou';
export const BUCKET = 'upcall-test';
export const OTHER_BUCKET = 'upcall-other';

type ClientOptions = Partial<OSS.Options> & { sldEnable?: boolean };

/** ali-oss methods that @types/ali-oss lacks or types wrongly. */
interface UntypedOssMethods {
  putObjectTagging(name: string, tag: Record<string, string>): Promise<unknown>;
  getObjectTagging(name: string): Promise<{ tag: Record<string, string> }>;
  signatureUrlV4(method: string, expires: number, request?: object, objectName?: string): Promise<string>;
  signPostObjectPolicyV4(policy: object, date: Date): string;
  listParts(
    name: string,
    uploadId: string,
    query?: object,
    options?: object,
  ): Promise<{ uploadId: string; parts: Array<{ PartNumber: string }> }>;
}

export type OssClient = Omit<OSS, keyof UntypedOssMethods> & UntypedOssMethods;

/** The response headers of an ali-oss result (typed `{}` by @types/ali-oss). */
export const headersOf = (result: { res: unknown }) =>
  (result.res as { headers: Record<string, string | undefined> }).headers;

export interface OssHarness {
  dir: string;
  account: LocalAccount;
  callbackKey: CallbackSigningKey;
  oss: LocalOss;
  /** ali-oss against `http://127.0.0.1:PORT`: virtual-hosted (`Host: <bucket>.oss-cn-hangzhou.aliyuncs.com`). */
  client(options?: ClientOptions): OssClient;
  /** ali-oss against `http://localhost:PORT` with sldEnable: path-style (`/<bucket>/<key>`); can presign URLs. */
  pathStyleClient(options?: ClientOptions): OssClient;
  /** Temporary credentials of a role allowed oss:* on the bucket, narrowed by `sessionPolicy`. */
  sts(sessionPolicy?: object, durationSeconds?: number): TemporaryCredential;
  /** ali-oss with temporary credentials (virtual-hosted unless `options` say otherwise). */
  stsClient(credential: TemporaryCredential, options?: ClientOptions): OssClient;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  options: { callbackTimeoutMs?: number; corsAllowedOrigins?: string[] } = {},
): Promise<OssHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'upcall-'));
  const account = new LocalAccount(join(dir, 'account.json'));
  const roleArn = `acs:ram::${account.accountId}:role/uploader`;
  account.putRole({
    arn: roleArn,
    maxSessionDuration: 3600,
    policy: JSON.stringify({
      Version: '1',
      Statement: [
        { Effect: 'Allow', Action: 'oss:*', Resource: [`acs:oss:*:*:${BUCKET}`, `acs:oss:*:*:${BUCKET}/*`] },
      ],
    }),
  });
  const callbackKey = generateCallbackSigningKey();
  const start = () =>
    startLocalOss({
      dataDir: join(dir, 'oss'),
      account,
      buckets: [BUCKET, OTHER_BUCKET],
      region: REGION,
      callbackKey,
      ...(options.callbackTimeoutMs ? { callbackTimeoutMs: options.callbackTimeoutMs } : {}),
      ...(options.corsAllowedOrigins ? { corsAllowedOrigins: options.corsAllowedOrigins } : {}),
    });
  const harness: OssHarness = {
    dir,
    account,
    callbackKey,
    oss: await start(),
    client: (overrides = {}) =>
      new OSS({
        endpoint: harness.oss.endpoint,
        region: `oss-${REGION}`,
        bucket: BUCKET,
        accessKeyId: account.root.accessKeyId,
        accessKeySecret: account.root.accessKeySecret,
        timeout: 10_000,
        ...overrides,
      } as OSS.Options) as unknown as OssClient,
    pathStyleClient: (overrides = {}) =>
      harness.client({ endpoint: `http://localhost:${harness.oss.port}`, sldEnable: true, ...overrides }),
    sts: (sessionPolicy, durationSeconds = 900) =>
      account.issueTemporary({
        roleArn,
        roleSessionName: 'alice',
        durationSeconds,
        ...(sessionPolicy ? { sessionPolicy: JSON.stringify(sessionPolicy) } : {}),
      }),
    stsClient: (credential, overrides = {}) =>
      harness.client({
        accessKeyId: credential.accessKeyId,
        accessKeySecret: credential.accessKeySecret,
        stsToken: credential.securityToken,
        // Given so ali-oss does not print its advice to set them; the tests' tokens outlive the tests.
        refreshSTSToken: async () => ({
          accessKeyId: credential.accessKeyId,
          accessKeySecret: credential.accessKeySecret,
          stsToken: credential.securityToken,
        }),
        refreshSTSTokenInterval: 3_600_000,
        ...overrides,
      }),
    restart: async () => {
      await harness.oss.close();
      harness.oss = await start();
    },
    close: async () => {
      await harness.oss.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

export interface ReceivedCallback {
  path: string;
  query: string;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface CallbackSink {
  url: string;
  received: ReceivedCallback[];
  /** How the next requests are answered (default: 200 JSON `{"ok":true}`). */
  respond: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;
  close(): Promise<void>;
}

/** A real node:http server standing in for upcall's callback function. */
export async function startCallbackSink(): Promise<CallbackSink> {
  const sink: CallbackSink = {
    url: '',
    received: [],
    respond: (_req, res) => {
      const reply = JSON.stringify({ ok: true });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      const mark = url.indexOf('?');
      const body = Buffer.concat(chunks);
      sink.received.push({
        path: mark === -1 ? url : url.slice(0, mark),
        query: mark === -1 ? '' : url.slice(mark + 1),
        headers: req.headers as Record<string, string | undefined>,
        body,
      });
      sink.respond(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return sink;
}

/** A raw request with any Host header (fetch cannot set Host). */
export function rawRequest(
  endpoint: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${endpoint}${options.path}`, {
      method: options.method ?? 'GET',
      headers: options.headers,
    });
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    request.end(options.body);
  });
}

/** The error an ali-oss call rejects with (fails the test if it resolves). */
export async function ossError(
  promise: Promise<unknown>,
): Promise<{ status: number; code: string; message: string; ecCode?: string; name: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { status: number; code: string; message: string; ecCode?: string; name: string };
  }
  throw new Error('expected the OSS call to fail');
}

/** The fields of an OSS XML error document (Code, Message, RequestId, HostId, EC…). */
export function parseErrorXml(xml: string): Record<string, string> {
  const parsed = new XMLParser({ parseTagValue: false }).parse(xml) as { Error?: Record<string, string> };
  if (!parsed.Error) throw new Error(`not an OSS error document: ${xml}`);
  return parsed.Error;
}
