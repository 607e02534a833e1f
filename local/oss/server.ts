/**
 * The local OSS: a loopback stand-in for Alibaba Cloud OSS that ali-oss talks to unchanged — signatures, STS
 * credentials and their session policies, PostObject policies, upload callbacks signed with the stand-in's own key,
 * objects on disk that survive a restart, and ObjectCreated events for the local FC's OSS triggers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../shared/log.js';
import type { LocalAccount } from '../credentials.js';
import type { CallbackSigningKey } from './callback-signing.js';
import type { OssServices } from './context.js';
import { ObjectCreatedHub, type ObjectCreatedListener } from './events.js';
import { handleRequest, PUBLIC_KEY_PATH } from './handle-request.js';
import { ObjectStore } from './object-store.js';
import { UploadStore } from './upload-store.js';

export type { ObjectCreatedEvent } from './events.js';

export interface LocalOssOptions {
  /** Objects live under `<dataDir>/…`; they survive a restart on the same directory. */
  dataDir: string;
  account: LocalAccount;
  buckets: string[];
  /** e.g. 'cn-hangzhou'. */
  region: string;
  callbackKey: CallbackSigningKey;
  /** Default 0 (a free port). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** How long a callback server may take to answer; OSS's is 5000 (the default). */
  callbackTimeoutMs?: number;
  /**
   * Origins allowed by a CORS rule on every bucket ('*' for any), for browser uploads. Default none: like a new OSS
   * bucket, preflights are refused.
   */
  corsAllowedOrigins?: string[];
}

export interface LocalOss {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  /** `${endpoint}/_local/callback_pub_key_v1.pem`, named (base64) in every callback's x-oss-pub-key-url. */
  publicKeyUrl: string;
  /** `${endpoint}/_local/`: pin `publicKeyPem` for it in verifyOssCallback's trustedKeys. */
  trustedKeyUrlPrefix: string;
  publicKeyPem: string;
  /** Called after PutObject, PostObject or CompleteMultipartUpload stored an object; returns the unsubscribe. */
  onObjectCreated(listener: ObjectCreatedListener): () => void;
  close(): Promise<void>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export async function startLocalOss(options: LocalOssOptions): Promise<LocalOss> {
  for (const bucket of options.buckets) {
    if (!BUCKET_NAME.test(bucket)) throw new Error(`invalid OSS bucket name: ${bucket}`);
  }
  const log = createLogger('local-oss');
  const store = new ObjectStore(options.dataDir, options.buckets);
  const events = new ObjectCreatedHub((error) => log.error({ err: error }, 'ObjectCreated listener failed'));
  const services: OssServices = {
    store,
    uploads: new UploadStore((bucket) => store.bucketDir(bucket)),
    account: options.account,
    region: options.region,
    events,
    callbackKey: options.callbackKey,
    publicKeyUrl: '', // known once listening
    callbackTimeoutMs: options.callbackTimeoutMs ?? 5000,
    corsAllowedOrigins: options.corsAllowedOrigins ?? [],
    log,
  };
  const server = createServer((message, res) => {
    handleRequest(message, res, services).catch((error: unknown) => {
      log.error({ err: error }, 'local OSS could not answer');
      res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  services.publicKeyUrl = `${endpoint}${PUBLIC_KEY_PATH}`;
  return {
    endpoint,
    port,
    publicKeyUrl: services.publicKeyUrl,
    trustedKeyUrlPrefix: `${endpoint}/_local/`,
    publicKeyPem: options.callbackKey.publicKeyPem,
    onObjectCreated: (listener) => events.subscribe(listener),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
