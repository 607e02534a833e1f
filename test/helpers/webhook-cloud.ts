/**
 * The local cloud with upcall's webhooks on: the example receiver as the application (answers scripted per object
 * key), the real media function in the local FC, callback functions over HTTP (one per hook policy), and uploads
 * from the real ali-oss client with a user's STS credentials and upload ticket.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OSS from 'ali-oss';
import { createMediaHandler } from '../../functions/media/app.js';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import {
  type ExampleReceiver,
  type ReceiverAnswer,
  startExampleReceiver,
} from '../../local/example-receiver.js';
import type { InvocationRecord } from '../../local/fc/functions.js';
import { connectOssTrigger } from '../../local/fc/oss-trigger.js';
import { type MediaPlanSettings, planMediaJob } from '../../shared/media-job.js';
import { parseTicketKeyring } from '../../shared/upload-ticket.js';
import type { WebhookEvent } from '../../shared/webhook-events.js';
import { type CallbackServer, startCallbackServer } from './callback-server.js';
import { solidPng } from './media.js';
import { mediaTrigger } from './media-trigger.js';
import { type RootOssClient, rootOssClient, userOssClient } from './oss-clients.js';
import { userTicket } from './upload-tickets.js';

export const BUCKET = 'upcall-hooks';
/** The image media function: every job and delivery here is an image's (tickets allow `image/*` only). */
export const MEDIA_FUNCTION = 'upcall-media-image';
const TICKET_KEYS = `k1:${'h'.repeat(40)}`;
const keyring = parseTicketKeyring(TICKET_KEYS);
/** What the media function plans with here: UPCALL_THUMBNAIL_SIZES below, the default formats and derived prefix. */
export const MEDIA_PLAN: MediaPlanSettings = {
  derivedPrefix: 'derived/',
  thumbnailSizes: [{ width: 32, height: 32 }],
  thumbnailFormats: ['webp'],
};

export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** How the application answers the n-th (1-based) undecided delivery of an event about `key`. */
export type Script = (n: number, event: WebhookEvent) => ReceiverAnswer | Promise<ReceiverAnswer>;

export interface WebhookCloud {
  cloud: LocalCloud;
  receiver: ExampleReceiver;
  secret: string;
  /** Script the application's answers for events about one object key (default: the receiver's own). */
  script(key: string, answer: Script): void;
  /** The callback function with these settings on top of the stack's, over HTTP. */
  startCallback(settings: NodeJS.ProcessEnv): Promise<CallbackServer>;
  /** The media function (re-)registered in the local FC with these settings on top of the stack's. */
  registerMedia(settings: NodeJS.ProcessEnv): void;
  /** The media function's OSS trigger (s.yaml's) connected; returns the disconnect. */
  connectTrigger(): () => void;
  uploader(user: string): OSS;
  root(): RootOssClient;
  ticketFor(user: string): Promise<string>;
  /** Bucket, key and ETag of a stored object (read with the root key): what webhook and task ids are made of. */
  versionOf(key: string): Promise<{ bucket: string; key: string; etag: string }>;
  /** Every delivery attempt of the webhook with this id, in order. */
  deliveriesOf(id: string): ExampleReceiver['deliveries'];
  /** The FC task id of the job of an image stored at `key`. */
  taskIdOf(key: string): Promise<string>;
  /**
   * A job's runs in the media function, in order: under its task id, then its verdict re-checks (`<task id>-v<n>`,
   * functions/media/verdict.ts).
   */
  checksOf(taskId: string): InvocationRecord[];
  close(): Promise<void>;
}

export function png(size: number): Promise<Buffer> {
  return solidPng(size, size, { r: 20, g: 120, b: 200 });
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
  const callbacks: CallbackServer[] = [];
  const base: NodeJS.ProcessEnv = {
    UPCALL_BUCKET: BUCKET,
    UPCALL_REGION: cloud.info.region,
    UPCALL_OSS_ENDPOINT: cloud.info.oss.endpoint,
    UPCALL_FC_ENDPOINT: cloud.info.fc.endpoint,
    UPCALL_MEDIA_IMAGE_FUNCTION_NAME: MEDIA_FUNCTION,
    UPCALL_THUMBNAIL_SIZES: '32x32',
    UPCALL_MEDIA_TIMEOUT_SECONDS: '60',
    UPCALL_WEBHOOK_SECRET: secret,
    UPCALL_UPLOAD_HOOK_URL: receiver.url,
    UPCALL_MEDIA_HOOK_URL: receiver.url,
    UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS: '0,0',
    UPCALL_TICKET_KEYS: TICKET_KEYS,
  };

  const versionOf = async (key: string) => {
    const head = await rootOssClient(cloud, BUCKET).head(key);
    const etag = String((head.res.headers as Record<string, string>).etag).replaceAll('"', '');
    return { bucket: BUCKET, key, etag };
  };

  return {
    cloud,
    receiver,
    secret,
    script: (key, answer) => scripts.set(key, answer),
    async startCallback(settings) {
      const callback = await startCallbackServer(cloud, {
        ...base,
        ...settings,
      });
      callbacks.push(callback);
      return callback;
    },
    registerMedia(settings) {
      cloud.fc.register(MEDIA_FUNCTION, createMediaHandler({ ...base, ...settings }), {
        roleArn: cloud.info.roles.media,
        maxAsyncRetryAttempts: 0,
      });
    },
    connectTrigger: () => connectOssTrigger(cloud.oss, cloud.fc, mediaTrigger(MEDIA_FUNCTION, BUCKET)),
    uploader: (user) => userOssClient(cloud, BUCKET, user),
    root: () => rootOssClient(cloud, BUCKET),
    ticketFor: (user) => userTicket(keyring, user, { maxBytes: 5_000_000, contentTypes: ['image/*'] }),
    versionOf,
    deliveriesOf: (id) => receiver.deliveries.filter((delivery) => delivery.id === id),
    async taskIdOf(key) {
      const plan = planMediaJob({ ...(await versionOf(key)), contentType: 'image/png' }, MEDIA_PLAN);
      if (!plan) throw new Error('an image gets a job');
      return plan.taskId;
    },
    checksOf: (taskId) =>
      cloud.fc
        .invocations(MEDIA_FUNCTION)
        .filter((run) => run.taskId === taskId || run.taskId?.startsWith(`${taskId}-v`)),
    async close() {
      await Promise.all(callbacks.map((callback) => callback.close()));
      await receiver.close();
      await cloud.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
