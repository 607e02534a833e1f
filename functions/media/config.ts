/** The media function's settings: which ones it reads, and their validated, typed form. */
import { loadSettings, ossEndpoint, parseSetting } from '../../shared/config.js';
import { fcEndpoint } from '../../shared/media-dispatch.js';
import { loadMediaPlanSettings } from '../../shared/media-job.js';
import type { MediaWorkerConfig } from './job.js';
import type { TriggerConfig } from './trigger.js';

export const MEDIA_SETTINGS = [
  'UPCALL_REGION',
  'UPCALL_BUCKET',
  'UPCALL_OSS_ENDPOINT',
  'UPCALL_UPLOADS_PREFIX',
  'UPCALL_MEDIA_FUNCTION_NAME',
  'UPCALL_FC_ENDPOINT',
  'UPCALL_MEDIA_TIMEOUT_SECONDS',
  'UPCALL_IMAGE_MAX_BYTES',
  'UPCALL_IMAGE_MAX_PIXELS',
  'UPCALL_IMAGE_KEEP_ANIMATION',
  'UPCALL_VIDEO_MAX_HEIGHT',
  'UPCALL_VIDEO_MAX_DURATION_SECONDS',
  'UPCALL_OUTPUT_CACHE_CONTROL',
  'FFMPEG_PATH',
  'FFPROBE_PATH',
] as const;

export interface MediaConfig extends MediaWorkerConfig, TriggerConfig {
  region: string;
  ossEndpoint: string;
  mediaFunctionName: string;
  /** FC API endpoint the trigger path dispatches jobs through. */
  fcEndpoint: string;
  /** Explicit tool paths; empty means "look in the usual places". */
  toolPaths: { ffmpeg: string; ffprobe: string };
}

/** Throws ConfigError naming every bad setting. */
export function loadMediaConfig(env: NodeJS.ProcessEnv): MediaConfig {
  const s = loadSettings(MEDIA_SETTINGS, env);
  return {
    region: s.UPCALL_REGION,
    bucket: s.UPCALL_BUCKET,
    ossEndpoint: ossEndpoint(s.UPCALL_OSS_ENDPOINT, s.UPCALL_REGION),
    uploadsPrefix: s.UPCALL_UPLOADS_PREFIX,
    plan: loadMediaPlanSettings(env),
    mediaFunctionName: s.UPCALL_MEDIA_FUNCTION_NAME,
    fcEndpoint: parseSetting('UPCALL_FC_ENDPOINT', () =>
      fcEndpoint(s.UPCALL_FC_ENDPOINT, s.UPCALL_REGION, env),
    ),
    timeoutMs: s.UPCALL_MEDIA_TIMEOUT_SECONDS * 1000,
    image: {
      maxBytes: s.UPCALL_IMAGE_MAX_BYTES,
      maxPixels: s.UPCALL_IMAGE_MAX_PIXELS,
      keepAnimation: s.UPCALL_IMAGE_KEEP_ANIMATION,
    },
    video: { maxLines: s.UPCALL_VIDEO_MAX_HEIGHT, maxDurationMs: s.UPCALL_VIDEO_MAX_DURATION_SECONDS * 1000 },
    cacheControl: s.UPCALL_OUTPUT_CACHE_CONTROL,
    toolPaths: { ffmpeg: s.FFMPEG_PATH, ffprobe: s.FFPROBE_PATH },
  };
}
