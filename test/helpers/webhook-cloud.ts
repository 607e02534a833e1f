/**
 * The local cloud with upcall's webhooks on: the example receiver as the application (answers scripted per object
 * key), the real media function in the local FC, callback functions over HTTP (one per hook policy), and uploads
 * from the real ali-oss client with a user's STS credentials and upload ticket.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OSS from 'ali-oss';
import sharp from 'sharp';
import { createCallbackApp } from '../../functions/callback/app.js';
import { createMediaHandler } from '../../functions/media/app.js';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import {
  type ExampleReceiver,
  type ReceiverAnswer,
  startExampleReceiver,
} from '../../local/example-receiver.js';
import { closeServer, listen } from '../../local/listen.js';
import { CALLBACK_BODY_TEMPLATE, CALLBACK_BODY_TYPE } from '../../shared/callback-contract.js';
import { createNodeListener } from '../../shared/http/node.js';
import { createLogger } from '../../shared/log.js';
import { issueUploadTicket, parseTicketKeyring } from '../../shared/upload-ticket.js';
import type { WebhookEvent } from '../../shared/webhook-events.js';

export const BUCKET = 'upcall-hooks';
export const MEDIA_FUNCTION = 'upcall-media';
const TICKET_KEYS = `k1:${'h'.repeat(40)}`;
const keyring = parseTicketKeyring(TICKET_KEYS);

export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** How the application answers the n-th (1-based) undecided delivery of an event about `key`. */
export type Script = (n: number, event: WebhookEvent) => ReceiverAnswer | Promise<ReceiverAnswer>;

export interface CapturedCallback {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface WebhookCloud {
  cloud: LocalCloud;
  receiver: ExampleReceiver;
  secret: string;
  /** Script the application's answers for events about one object key (default: the receiver's own). */
  script(key: string, answer: Script): void;
  /** The callback function with these settings on top of the stack's, over HTTP. */
  startCallback(settings: NodeJS.ProcessEnv): Promise<{ url: string; captured: CapturedCallback[] }>;
  /** The media function (re-)registered in the local FC with these settings on top of the stack's. */
  registerMedia(settings: NodeJS.ProcessEnv): void;
  uploader(user: string): OSS;
  root(): OSS & { getObjectTagging(name: string): Promise<{ tag: Record<string, string> }> };
  ticketFor(user: string): Promise<string>;
  close(): Promise<void>;
}

export function callbackOption(ticket: string, url: string) {
  return { url, body: CALLBACK_BODY_TEMPLATE, contentType: CALLBACK_BODY_TYPE, customValue: { ticket } };
}

export function png(size: number): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: { r: 20, g: 120, b: 200 } } })
    .png()
    .toBuffer();
}

const keyOf = (event: WebhookEvent) =>
  event.type === 'upload.completed' ? event.data.object.key : event.data.key;

export async function startWebhookCloud(): Promise<WebhookCloud> {
  const dataDir = await mkdtemp(join(tmpdir(), 'upcall-'));
  const cloud = await startLocalCloud({ dataDir, buckets: [BUCKET] });
  const secret = newWebhookSecret();
  const scripts = new Map<string, Script>();
  const calls = new Map<string, number>();
  const receiver = await startExampleReceiver({
    secret,
    answer(event, id) {
      const script = scripts.get(keyOf(event));
      const n = (calls.get(id) ?? 0) + 1;
      calls.set(id, n);
      if (script) return script(n, event);
      return event.type === 'upload.completed'
        ? { status: 200, body: { recordId: `rec-${n}` } }
        : { status: 204 };
    },
  });
  const servers: Server[] = [];
  const base: NodeJS.ProcessEnv = {
    UPCALL_BUCKET: BUCKET,
    UPCALL_REGION: cloud.info.region,
    UPCALL_OSS_ENDPOINT: cloud.info.oss.endpoint,
    UPCALL_FC_ENDPOINT: cloud.info.fc.endpoint,
    UPCALL_MEDIA_FUNCTION_NAME: MEDIA_FUNCTION,
    UPCALL_THUMBNAIL_SIZES: '32x32',
    UPCALL_MEDIA_TIMEOUT_SECONDS: '60',
    UPCALL_WEBHOOK_SECRET: secret,
    UPCALL_UPLOAD_HOOK_URL: receiver.url,
    UPCALL_MEDIA_HOOK_URL: receiver.url,
    UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS: '0,0',
  };

  return {
    cloud,
    receiver,
    secret,
    script: (key, answer) => scripts.set(key, answer),
    async startCallback(settings) {
      const env = {
        ...base,
        UPCALL_TICKET_KEYS: TICKET_KEYS,
        UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX: cloud.info.oss.trustedKeyUrlPrefix,
        UPCALL_CALLBACK_TRUSTED_KEY_PEM: cloud.info.oss.publicKeyPem,
        UPCALL_CALLBACK_DEADLINE_MS: '3000',
        ...settings,
      };
      const credentials = cloud.account.issueTemporary({
        roleArn: cloud.info.roles.callback,
        roleSessionName: 'upcall-callback',
        durationSeconds: 3600,
      });
      const listener = createNodeListener(createCallbackApp(env), {
        log: createLogger('callback'),
        credentials,
      });
      const captured: CapturedCallback[] = [];
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () =>
          captured.push({
            path: req.url ?? '/',
            headers: req.headers as Record<string, string>,
            body: Buffer.concat(chunks),
          }),
        );
        listener(req, res);
      });
      servers.push(server);
      const { endpoint } = await listen(server);
      return { url: `${endpoint}/oss-callback`, captured };
    },
    registerMedia(settings) {
      cloud.fc.register(MEDIA_FUNCTION, createMediaHandler({ ...base, ...settings }), {
        roleArn: cloud.info.roles.media,
        maxAsyncRetryAttempts: 0,
      });
    },
    uploader(user) {
      const credential = cloud.account.issueTemporary({
        roleArn: cloud.info.roles.uploader,
        roleSessionName: `user-${user}`,
        durationSeconds: 3600,
        sessionPolicy: JSON.stringify({
          Version: '1',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['oss:PutObject'],
              Resource: [`acs:oss:*:*:${BUCKET}/uploads/${user}/*`],
            },
          ],
        }),
      });
      return new OSS({
        endpoint: cloud.info.oss.endpoint,
        region: `oss-${cloud.info.region}`,
        bucket: BUCKET,
        accessKeyId: credential.accessKeyId,
        accessKeySecret: credential.accessKeySecret,
        stsToken: credential.securityToken,
        refreshSTSTokenInterval: 3_600_000,
      });
    },
    root() {
      return new OSS({
        endpoint: cloud.info.oss.endpoint,
        region: `oss-${cloud.info.region}`,
        bucket: BUCKET,
        ...cloud.info.rootCredentials,
      }) as ReturnType<WebhookCloud['root']>;
    },
    async ticketFor(user) {
      const { token } = await issueUploadTicket(
        { userId: user, keyPrefix: `uploads/${user}/`, maxBytes: 5_000_000, contentTypes: ['image/*'] },
        keyring,
        { ttlSeconds: 3600 },
      );
      return token;
    },
    async close() {
      await Promise.all(servers.map((server) => closeServer(server)));
      await receiver.close();
      await cloud.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
