/** The media function's settings: which ones it reads, and their validated, typed form. */
import { ConfigError, loadSettings, ossEndpoint, parseSetting, type Settings } from '../../shared/config.js';
import { fcEndpoint } from '../../shared/fc-async-invoke.js';
import {
  loadMediaPlanSettings,
  type MediaFunctions,
  type MediaPlanSettings,
  mediaFunctions,
} from '../../shared/media-job.js';
import type { TicketKeyring } from '../../shared/upload-ticket.js';
import { verdictSettings } from '../../shared/upload-verdict.js';
import { checkWebhookSecret } from '../../shared/webhook-send.js';

export const MEDIA_SETTINGS = [
  'UPCALL_REGION',
  'UPCALL_BUCKET',
  'UPCALL_OSS_ENDPOINT',
  'UPCALL_UPLOADS_PREFIX',
  'UPCALL_TICKET_KEYS',
  'UPCALL_MEDIA_IMAGE_FUNCTION_NAME',
  'UPCALL_MEDIA_VIDEO_FUNCTION_NAME',
  'UPCALL_FC_ENDPOINT',
  'UPCALL_MEDIA_TIMEOUT_SECONDS',
  'UPCALL_IMAGE_MAX_BYTES',
  'UPCALL_IMAGE_MAX_PIXELS',
  'UPCALL_IMAGE_MAX_FRAMES',
  'UPCALL_IMAGE_TIMEOUT_SECONDS',
  'UPCALL_IMAGE_KEEP_ANIMATION',
  'UPCALL_VIDEO_MAX_HEIGHT',
  'UPCALL_VIDEO_MAX_DURATION_SECONDS',
  'UPCALL_VIDEO_MAX_BYTES',
  'UPCALL_OUTPUT_CACHE_CONTROL',
  'FFMPEG_PATH',
  'FFPROBE_PATH',
  'UPCALL_UPLOAD_HOOK_URL',
  'UPCALL_MEDIA_HOOK_URL',
  'UPCALL_WEBHOOK_SECRET',
  'UPCALL_WEBHOOK_TIMEOUT_MS',
  'UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS',
] as const;

/** What a media job needs (job.ts and render.ts). */
export interface MediaWorkerConfig {
  bucket: string;
  plan: MediaPlanSettings;
  image: {
    maxBytes: number;
    maxPixels: number;
    maxFrames: number;
    keepAnimation: boolean;
    timeoutMs: number;
  };
  video: { maxBytes: number; maxLines: number; maxDurationMs: number };
  /** Cache-Control of every output. */
  cacheControl: string;
  /** The function's timeout: lease lifetime and the deadline tools must finish by. */
  timeoutMs: number;
}

/** What the OSS trigger path needs (trigger.ts): the callback's verdict needs the same ticket keys. */
export interface TriggerConfig {
  bucket: string;
  uploadsPrefix: string;
  ticketKeyring: TicketKeyring;
  plan: MediaPlanSettings;
}

/** The application's webhooks (outbox.ts). */
export interface MediaWebhookConfig {
  secret: string;
  /** The application's endpoints per hook; null when that hook is off. */
  urls: { upload: string | null; media: string | null };
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Delay before retry n (seconds); attempts = 1 + its length. */
  retryDelaysSeconds: number[];
}

export interface MediaConfig extends MediaWorkerConfig, TriggerConfig {
  region: string;
  ossEndpoint: string;
  /**
   * Where jobs are queued by kind (the trigger path's dispatch, a verdict re-check) and webhook deliveries with their
   * retries (the image function: an HTTP request needs no video-sized instance).
   */
  mediaFunctions: MediaFunctions;
  /** FC API endpoint the trigger path dispatches jobs through. */
  fcEndpoint: string;
  /** Explicit tool paths; empty means "look in the usual places". */
  toolPaths: { ffmpeg: string; ffprobe: string };
  /** The application's webhooks; absent when neither hook URL is set. */
  webhooks?: MediaWebhookConfig;
}

/** Throws ConfigError naming every bad setting. */
export function loadMediaConfig(env: NodeJS.ProcessEnv): MediaConfig {
  const s = loadSettings(MEDIA_SETTINGS, env);
  return {
    ...verdictSettings(s),
    region: s.UPCALL_REGION,
    ossEndpoint: ossEndpoint(s.UPCALL_OSS_ENDPOINT, s.UPCALL_REGION),
    plan: loadMediaPlanSettings(env),
    mediaFunctions: mediaFunctions(s),
    fcEndpoint: parseSetting('UPCALL_FC_ENDPOINT', () =>
      fcEndpoint(s.UPCALL_FC_ENDPOINT, s.UPCALL_REGION, env),
    ),
    timeoutMs: s.UPCALL_MEDIA_TIMEOUT_SECONDS * 1000,
    image: {
      maxBytes: s.UPCALL_IMAGE_MAX_BYTES,
      maxPixels: s.UPCALL_IMAGE_MAX_PIXELS,
      maxFrames: s.UPCALL_IMAGE_MAX_FRAMES,
      timeoutMs: s.UPCALL_IMAGE_TIMEOUT_SECONDS * 1000,
      keepAnimation: s.UPCALL_IMAGE_KEEP_ANIMATION,
    },
    video: {
      maxBytes: s.UPCALL_VIDEO_MAX_BYTES,
      maxLines: s.UPCALL_VIDEO_MAX_HEIGHT,
      maxDurationMs: s.UPCALL_VIDEO_MAX_DURATION_SECONDS * 1000,
    },
    cacheControl: s.UPCALL_OUTPUT_CACHE_CONTROL,
    toolPaths: { ffmpeg: s.FFMPEG_PATH, ffprobe: s.FFPROBE_PATH },
    ...webhookConfig(s),
  };
}

/**
 * Where a job's manifest goes, from the few settings that say so: what a worker whose other settings are broken
 * needs to fail its jobs visibly. Throws `ConfigError` when these are broken too.
 */
export function loadManifestLocation(env: NodeJS.ProcessEnv): {
  region: string;
  ossEndpoint: string;
  plan: MediaPlanSettings;
} {
  const s = loadSettings(['UPCALL_REGION', 'UPCALL_OSS_ENDPOINT'], env);
  return {
    region: s.UPCALL_REGION,
    ossEndpoint: ossEndpoint(s.UPCALL_OSS_ENDPOINT, s.UPCALL_REGION),
    plan: loadMediaPlanSettings(env),
  };
}

/** FC's longest `x-fc-async-delay`: each retry is one delayed async invocation. */
const MAX_RETRY_DELAY_SECONDS = 3600;

function webhookConfig(s: Settings<(typeof MEDIA_SETTINGS)[number]>): { webhooks?: MediaWebhookConfig } {
  const upload = s.UPCALL_UPLOAD_HOOK_URL || null;
  const media = s.UPCALL_MEDIA_HOOK_URL || null;
  if (!upload && !media) return {};
  if (s.UPCALL_WEBHOOK_SECRET === '') {
    throw new ConfigError(['UPCALL_WEBHOOK_SECRET is required when a hook URL is set']);
  }
  return {
    webhooks: {
      secret: parseSetting('UPCALL_WEBHOOK_SECRET', () => {
        checkWebhookSecret(s.UPCALL_WEBHOOK_SECRET);
        return s.UPCALL_WEBHOOK_SECRET;
      }),
      urls: { upload, media },
      timeoutMs: s.UPCALL_WEBHOOK_TIMEOUT_MS,
      retryDelaysSeconds: parseSetting('UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS', () =>
        s.UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS.split(',').map((entry) => {
          const seconds = Number(entry);
          if (seconds > MAX_RETRY_DELAY_SECONDS)
            throw new Error(`delays are at most ${MAX_RETRY_DELAY_SECONDS} s`);
          return seconds;
        }),
      ),
    },
  };
}
