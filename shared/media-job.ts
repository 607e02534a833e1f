/**
 * The media job contract: what the callback function dispatches and the OSS trigger path derives, and where every
 * output of a job will appear. Both paths compute the same plan from (bucket, key, etag), so an object version maps
 * to exactly one task id and one manifest whichever path sees it first.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError, loadSettings, parseSetting, type Settings } from './config.js';
import { PROCESSED_IMAGE_TYPES } from './media-types.js';
import { compileSchema, formatIssues } from './schema.js';
import { sha256Hex } from './sha256.js';

export const MediaJobSchema = Type.Object(
  {
    version: Type.Literal(1),
    kind: Type.Union([Type.Literal('image'), Type.Literal('video')]),
    bucket: Type.String({ minLength: 3, maxLength: 63 }),
    key: Type.String({ minLength: 1, maxLength: 1023 }),
    /** OSS ETag without quotes, upper-case hex (multipart: `-N` suffix). */
    etag: Type.String({ pattern: '^[0-9A-F]{32}(-[1-9][0-9]{0,4})?$' }),
    size: Type.Integer({ minimum: 0 }),
    contentType: Type.String({ minLength: 1, maxLength: 255 }),
    /** Which path dispatched it. */
    source: Type.Union([Type.Literal('callback'), Type.Literal('trigger')]),
    taskId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
    /** Epoch ms. */
    requestedAt: Type.Integer(),
    /**
     * Set only by the media function on a trigger-path job it re-queued to look for the callback's verdict again:
     * how many such checks it has queued (functions/media/verdict.ts).
     */
    verdictCheck: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type MediaJob = Static<typeof MediaJobSchema>;
export const mediaJobValidator = compileSchema(MediaJobSchema);

export type MediaKind = MediaJob['kind'];

/** An uploaded object version as OSS stored it. */
export type UploadedVersion = Pick<MediaJob, 'bucket' | 'key' | 'etag' | 'size' | 'contentType'>;

/**
 * The one constructor of a job, for both dispatching paths: validated here, so no path can queue a job the worker
 * would refuse. Throws when the version cannot be described as a job (e.g. a content type longer than a job holds).
 */
export function mediaJobFor(
  plan: MediaPlan,
  uploaded: UploadedVersion,
  source: MediaJob['source'],
  requestedAt: number,
): MediaJob {
  const job: MediaJob = {
    version: 1,
    kind: plan.kind,
    bucket: uploaded.bucket,
    key: uploaded.key,
    etag: uploaded.etag,
    size: uploaded.size,
    contentType: uploaded.contentType,
    source,
    taskId: plan.taskId,
    requestedAt,
  };
  const checked = mediaJobValidator.validate(job);
  if (!checked.ok) throw new Error(`cannot describe the object as a job: ${formatIssues(checked.issues)}`);
  return checked.value;
}
export type OutputFormat = 'webp' | 'jpeg' | 'avif' | 'png';

export interface ThumbnailSize {
  width: number;
  height: number;
}

export interface MediaPlanSettings {
  /** Where outputs go; never under the uploads prefix, so outputs cannot re-trigger processing. */
  derivedPrefix: string;
  thumbnailSizes: ThumbnailSize[];
  thumbnailFormats: OutputFormat[];
}

export interface PlannedOutput {
  role: 'thumbnail' | 'transcode' | 'poster';
  key: string;
  contentType: string;
  /** Bounding box for thumbnails. */
  size?: ThumbnailSize;
}

export interface MediaPlan {
  kind: MediaKind;
  taskId: string;
  /** Folder of this object version's outputs. */
  outputPrefix: string;
  manifestKey: string;
  outputs: PlannedOutput[];
}

const FORMAT_TYPES: Record<OutputFormat, string> = {
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  avif: 'image/avif',
  png: 'image/png',
};
const FORMAT_EXTENSIONS: Record<OutputFormat, string> = {
  webp: 'webp',
  jpeg: 'jpg',
  avif: 'avif',
  png: 'png',
};

const IMAGE_TYPES: ReadonlySet<string> = new Set(PROCESSED_IMAGE_TYPES);

/** Which job an object's content type gets, or none. */
export function mediaKindOf(contentType: string): MediaKind | null {
  const type = contentType.toLowerCase().split(';')[0]?.trim() ?? '';
  if (IMAGE_TYPES.has(type)) return 'image';
  if (type.startsWith('video/')) return 'video';
  return null;
}

/**
 * The media functions by the kind of job they run: one code package deployed twice, sized apart (s.yaml), so image
 * jobs do not pay for video's CPU, memory and disk. A job goes by its plan's kind, which comes from the stored
 * content type, so the callback and the trigger path send an object version to the same function under the same task
 * id, and FC's task de-duplication still queues it once.
 */
export type MediaFunctions = Record<MediaKind, string>;

export function mediaFunctions(
  s: Settings<'UPCALL_MEDIA_IMAGE_FUNCTION_NAME' | 'UPCALL_MEDIA_VIDEO_FUNCTION_NAME'>,
): MediaFunctions {
  return { image: s.UPCALL_MEDIA_IMAGE_FUNCTION_NAME, video: s.UPCALL_MEDIA_VIDEO_FUNCTION_NAME };
}

/** FC async task id for an object version: deterministic, so a repeated dispatch is refused with 409. */
export function mediaTaskId(bucket: string, key: string, etag: string): string {
  const digest = sha256Hex(`${bucket}\n${key}\n${etag}`);
  return `upcall-${digest.slice(0, 48)}`;
}

export function parseThumbnailSizes(spec: string): ThumbnailSize[] {
  return spec.split(',').map((entry) => {
    const match = /^\s*([1-9][0-9]{0,4})x([1-9][0-9]{0,4})\s*$/.exec(entry);
    if (!match)
      throw new Error(
        `must be a list of WxH sizes like 320x320,1280x1280 (bad entry ${JSON.stringify(entry)})`,
      );
    return { width: Number(match[1]), height: Number(match[2]) };
  });
}

export function parseOutputFormats(spec: string): OutputFormat[] {
  const formats = spec.split(',').map((f) => f.trim().toLowerCase());
  for (const format of formats) {
    if (!(format in FORMAT_TYPES))
      throw new Error(`must list formats from webp, jpeg, avif, png (got ${format})`);
  }
  return [...new Set(formats)] as OutputFormat[];
}

function thumbnailOutputs(prefix: string, settings: MediaPlanSettings, stem: string): PlannedOutput[] {
  return settings.thumbnailSizes.flatMap((size) =>
    settings.thumbnailFormats.map((format) => ({
      role: 'thumbnail' as const,
      key: `${prefix}${stem}-${size.width}x${size.height}.${FORMAT_EXTENSIONS[format]}`,
      contentType: FORMAT_TYPES[format],
      size,
    })),
  );
}

/** Plan the job for an object version, or null when its content type gets none. */
export function planMediaJob(
  object: { bucket: string; key: string; etag: string; contentType: string },
  settings: MediaPlanSettings,
): MediaPlan | null {
  const kind = mediaKindOf(object.contentType);
  if (!kind) return null;
  // One folder per object version: `<derived>/<source key>/<etag>/`.
  const outputPrefix = `${settings.derivedPrefix}${object.key}/${object.etag}/`;
  const outputs =
    kind === 'image'
      ? thumbnailOutputs(outputPrefix, settings, 'thumb')
      : [
          { role: 'transcode' as const, key: `${outputPrefix}video.mp4`, contentType: 'video/mp4' },
          { role: 'poster' as const, key: `${outputPrefix}poster.jpg`, contentType: 'image/jpeg' },
          ...thumbnailOutputs(outputPrefix, settings, 'poster'),
        ];
  return {
    kind,
    taskId: mediaTaskId(object.bucket, object.key, object.etag),
    outputPrefix,
    manifestKey: `${outputPrefix}manifest.json`,
    outputs,
  };
}

/** The plan settings from the environment (shared by the callback and media functions). */
export function loadMediaPlanSettings(env: NodeJS.ProcessEnv): MediaPlanSettings {
  const settings = loadSettings(
    ['UPCALL_UPLOADS_PREFIX', 'UPCALL_DERIVED_PREFIX', 'UPCALL_THUMBNAIL_SIZES', 'UPCALL_THUMBNAIL_FORMATS'],
    env,
  );
  const uploads = settings.UPCALL_UPLOADS_PREFIX;
  const derived = settings.UPCALL_DERIVED_PREFIX;
  if (derived.startsWith(uploads) || uploads.startsWith(derived)) {
    throw new ConfigError([
      `UPCALL_DERIVED_PREFIX must not overlap UPCALL_UPLOADS_PREFIX (${derived} vs ${uploads}): outputs would re-trigger`,
    ]);
  }
  return {
    derivedPrefix: derived,
    thumbnailSizes: parseSetting('UPCALL_THUMBNAIL_SIZES', () =>
      parseThumbnailSizes(settings.UPCALL_THUMBNAIL_SIZES),
    ),
    thumbnailFormats: parseSetting('UPCALL_THUMBNAIL_FORMATS', () =>
      parseOutputFormats(settings.UPCALL_THUMBNAIL_FORMATS),
    ),
  };
}
