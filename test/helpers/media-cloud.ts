/** The local cloud set up for media tests: one bucket, a root ali-oss client, and the media worker's settings. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OSS from 'ali-oss';
import { afterAll, beforeAll } from 'vitest';
import type { MediaWorkerConfig } from '../../functions/media/config.js';
import { type MediaWorkerDeps, runMediaJob } from '../../functions/media/job.js';
import {
  createOssMediaStore,
  type MediaStore,
  type OssMediaStoreOptions,
} from '../../functions/media/store.js';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import { createLogger } from '../../shared/log.js';
import { type MediaFunctions, type MediaJob, planMediaJob } from '../../shared/media-job.js';
import { type MediaManifest, mediaManifestValidator } from '../../shared/media-manifest.js';
import { createOssClient } from '../../shared/oss-client.js';
import { parseTicketKeyring } from '../../shared/upload-ticket.js';
import { jpegWithOrientation6, testTools } from './media.js';
import { ticketMeta, userTicket } from './upload-tickets.js';

export const BUCKET = 'upcall-media-test';
/** The ticket keys of the media function's settings (its trigger path judges uploads by their tickets). */
export const TICKET_KEYS = `k1:${'m'.repeat(40)}`;
const keyring = parseTicketKeyring(TICKET_KEYS);

/** Put `body` as user `uploads/<user>/…`'s upload: with a ticket for its own prefix and content type. */
export async function putUpload(oss: OSS, key: string, body: Buffer, contentType: string): Promise<void> {
  const user = key.split('/')[1] ?? '';
  const ticket = await userTicket(keyring, user, { maxBytes: 50_000_000, contentTypes: [contentType] });
  await oss.put(key, body, { mime: contentType, ...ticketMeta(ticket) });
}

export interface MediaCloud {
  cloud: LocalCloud;
  dataDir: string;
  /** ali-oss with the account's root key. */
  oss: OSS;
  store(options?: OssMediaStoreOptions): MediaStore;
  close(): Promise<void>;
}

export async function startMediaCloud(): Promise<MediaCloud> {
  const dataDir = await mkdtemp(join(tmpdir(), 'upcall-'));
  const cloud = await startLocalCloud({ dataDir, buckets: [BUCKET] });
  const client = () =>
    createOssClient({
      endpoint: cloud.info.oss.endpoint,
      region: cloud.info.region,
      bucket: BUCKET,
      credentials: cloud.info.rootCredentials,
    });
  const oss = client();
  return {
    cloud,
    dataDir,
    oss,
    store: (options) => createOssMediaStore(client(), options),
    async close() {
      await cloud.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A media function's settings on this cloud, as s.yaml would give them (small thumbnails, a one-minute timeout), with
 * the functions jobs are queued on by kind (one name for both: a function that runs every job).
 */
export function mediaFunctionEnv(media: MediaCloud, functions: MediaFunctions): NodeJS.ProcessEnv {
  const { info } = media.cloud;
  return {
    UPCALL_REGION: info.region,
    UPCALL_BUCKET: BUCKET,
    UPCALL_TICKET_KEYS: TICKET_KEYS,
    UPCALL_OSS_ENDPOINT: info.oss.endpoint,
    UPCALL_FC_ENDPOINT: info.fc.endpoint,
    UPCALL_MEDIA_IMAGE_FUNCTION_NAME: functions.image,
    UPCALL_MEDIA_VIDEO_FUNCTION_NAME: functions.video,
    UPCALL_THUMBNAIL_SIZES: '64x64,32x32',
    UPCALL_THUMBNAIL_FORMATS: 'webp,jpeg',
    UPCALL_MEDIA_TIMEOUT_SECONDS: '60',
  };
}

export function workerConfig(overrides: Partial<MediaWorkerConfig> = {}): MediaWorkerConfig {
  return {
    bucket: BUCKET,
    plan: {
      derivedPrefix: 'derived/',
      thumbnailSizes: [
        { width: 64, height: 64 },
        { width: 32, height: 32 },
      ],
      thumbnailFormats: ['webp', 'jpeg'],
    },
    image: {
      maxBytes: 5_000_000,
      maxPixels: 20_000_000,
      maxFrames: 100,
      keepAnimation: true,
      timeoutMs: 30_000,
    },
    video: { maxBytes: 50_000_000, maxLines: 144, maxDurationMs: 60_000 },
    cacheControl: 'public, max-age=31536000, immutable',
    timeoutMs: 60_000,
    ...overrides,
  };
}

/** Upload `body` and describe it as the job the callback function would dispatch. */
export async function uploadForJob(
  media: MediaCloud,
  key: string,
  body: Buffer,
  contentType: string,
  config = workerConfig(),
): Promise<MediaJob> {
  await putUpload(media.oss, key, body, contentType);
  const stored = await media.store().head(key);
  if (!stored) throw new Error(`${key} did not upload`);
  const plan = planMediaJob({ bucket: BUCKET, key, etag: stored.etag, contentType }, config.plan);
  if (!plan) throw new Error(`${contentType} gets no plan`);
  return {
    version: 1,
    kind: plan.kind,
    bucket: BUCKET,
    key,
    etag: stored.etag,
    size: stored.size,
    contentType,
    source: 'callback',
    taskId: plan.taskId,
    requestedAt: Date.now(),
  };
}

/** A camera JPEG (EXIF-rotated) uploaded at `key`, and its job. */
export async function uploadPhoto(media: MediaCloud, key: string): Promise<MediaJob> {
  return uploadForJob(media, key, await jpegWithOrientation6(), 'image/jpeg');
}

/** Runs jobs through the worker core against this cloud, each run with its own FC request id unless given one. */
export function jobRunner(media: MediaCloud, scratchDir: string, name: string) {
  const log = createLogger(name);
  let requests = 0;
  return (
    job: MediaJob,
    overrides: Partial<MediaWorkerDeps> = {},
    config = workerConfig(),
    requestId?: string,
  ) => {
    requests += 1;
    return runMediaJob(job, { requestId: requestId ?? `${name}-${requests}` }, config, {
      store: media.store(),
      tools: testTools,
      now: Date.now,
      log,
      scratchDir,
      ...overrides,
    });
  };
}

/** A job's manifest, validated, and its text as stored (what the uploader may read). */
export async function storedManifest(
  media: MediaCloud,
  job: MediaJob,
  config = workerConfig(),
): Promise<{ manifest: MediaManifest; text: string }> {
  const plan = planMediaJob(job, config.plan);
  if (!plan) throw new Error(`${job.contentType} gets no plan`);
  const text = Buffer.from((await media.oss.get(plan.manifestKey)).content).toString('utf8');
  const checked = mediaManifestValidator.validate(JSON.parse(text));
  if (!checked.ok) throw new Error(`invalid manifest: ${JSON.stringify(checked.issues)}`);
  return { manifest: checked.value, text };
}

export interface MediaJobsFixture {
  media: MediaCloud;
  /** A scratch folder of the test file (also the worker's `scratchDir`). */
  scratchDir: string;
  run: ReturnType<typeof jobRunner>;
}

/** A local cloud, a scratch folder and a job runner for the test file calling it, set up before its tests. */
export function useMediaJobs(name: string): MediaJobsFixture {
  const fixture = {} as MediaJobsFixture;
  beforeAll(async () => {
    fixture.media = await startMediaCloud();
    fixture.scratchDir = await mkdtemp(join(tmpdir(), 'upcall-'));
    fixture.run = jobRunner(fixture.media, fixture.scratchDir, name);
  });
  afterAll(async () => {
    await fixture.media.close();
    await rm(fixture.scratchDir, { recursive: true, force: true });
  });
  return fixture;
}
