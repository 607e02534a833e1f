/**
 * The manifest of one object version's media job, at `planMediaJob(…).manifestKey`
 * (`<derived>/<key>/<etag>/manifest.json`). The media function writes it last, so its presence means the job is over
 * — succeeded, or failed for good with a reason — and nothing will be written under that version's folder again.
 * The callback's clients and the upload CLI poll for it; the media function reads it to skip finished work.
 */
import { type Static, Type } from '@sinclair/typebox';
import { compileSchema } from './schema.js';

/** User metadata every output carries: the source version it was derived from (OSS returns it on HEAD/GET). */
export const SOURCE_ETAG_HEADER = 'x-oss-meta-upcall-source-etag';
export const MANIFEST_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Why a job failed for good; stable codes a client may branch on. */
export const MEDIA_FAILURE_CODES = [
  /**
   * Not a format the worker decodes, by its bytes: an unknown file, or one that is not media at all — a playlist, a
   * concat list or a DASH manifest is refused here, never followed.
   */
  'UnsupportedMedia',
  /** The bytes are media of the other kind than the declared content type says (an image uploaded as `video/mp4`). */
  'ContentMismatch',
  /** Identified but undecodable: truncated, corrupt, or inconsistent. */
  'CorruptMedia',
  /** More bytes than `UPCALL_IMAGE_MAX_BYTES` (images) or `UPCALL_VIDEO_MAX_BYTES` (videos). */
  'InputTooLarge',
  /** More pixels (all frames counted) than `UPCALL_IMAGE_MAX_PIXELS`: a decompression bomb or a huge image. */
  'TooManyPixels',
  /** An animation with more frames than `UPCALL_IMAGE_MAX_FRAMES`. */
  'TooManyFrames',
  /**
   * Decoding and rendering took longer than allowed (`UPCALL_IMAGE_TIMEOUT_SECONDS` for images; for videos a bound
   * from the duration, and always the function's timeout): the work was killed.
   */
  'RenderTimeout',
  /** Longer than `UPCALL_VIDEO_MAX_DURATION_SECONDS`. */
  'VideoTooLong',
  /** A video container without a video stream (e.g. audio only). */
  'NoVideoStream',
  /** ffmpeg refused, failed or crashed on the input (its output goes to the log, never to the manifest). */
  'TranscodeFailed',
  /** The object version is gone: deleted or overwritten before it was processed. */
  'SourceChanged',
  /** Every attempt died without finishing (e.g. killed for memory); retrying further would loop. */
  'AttemptsExhausted',
  /** The callback function refused the upload (tagged `upcall-status=rejected`): it is kept, never processed. */
  'UploadRejected',
  /**
   * The media function cannot process anything (a setting is invalid, or ffmpeg/ffprobe are missing or do not run);
   * its log names the setting. Not retried: the job fails at once rather than after FC's retries.
   */
  'WorkerMisconfigured',
] as const;
export type MediaFailureCode = (typeof MEDIA_FAILURE_CODES)[number];

const Integer = (options: { minimum?: number } = { minimum: 0 }) => Type.Integer(options);

export const MediaOutputSchema = Type.Object(
  {
    role: Type.Union([Type.Literal('thumbnail'), Type.Literal('transcode'), Type.Literal('poster')]),
    key: Type.String({ minLength: 1 }),
    contentType: Type.String({ minLength: 1 }),
    bytes: Integer(),
    width: Integer({ minimum: 1 }),
    height: Integer({ minimum: 1 }),
    /** Transcodes: playing time. */
    durationMs: Type.Optional(Integer()),
    /** Thumbnails of animated sources: frames kept (absent when the output is a still). */
    frames: Type.Optional(Integer({ minimum: 2 })),
  },
  { additionalProperties: false },
);
export type MediaOutput = Static<typeof MediaOutputSchema>;

export const MediaManifestSchema = Type.Object(
  {
    version: Type.Literal(1),
    status: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
    taskId: Type.String({ minLength: 1 }),
    bucket: Type.String({ minLength: 1 }),
    key: Type.String({ minLength: 1 }),
    etag: Type.String({ minLength: 1 }),
    kind: Type.Union([Type.Literal('image'), Type.Literal('video')]),
    contentType: Type.String(),
    size: Integer(),
    /** Which path queued the run that finished the job. */
    source: Type.Union([Type.Literal('callback'), Type.Literal('trigger')]),
    /** 1 for the first run; more when earlier runs died or hit transient errors. */
    attempt: Integer({ minimum: 1 }),
    /** What the worker learnt of the source (absent when it could not be read). */
    input: Type.Optional(
      Type.Object(
        {
          format: Type.Optional(Type.String()),
          width: Type.Optional(Integer({ minimum: 1 })),
          height: Type.Optional(Integer({ minimum: 1 })),
          frames: Type.Optional(Integer({ minimum: 1 })),
          durationMs: Type.Optional(Integer()),
          videoCodec: Type.Optional(Type.String()),
          audioCodec: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    /** Succeeded: every planned output. Failed: none are promised (partial files may exist and are stale). */
    outputs: Type.Array(MediaOutputSchema),
    error: Type.Optional(
      Type.Object(
        {
          code: Type.Unsafe<MediaFailureCode>(
            Type.Union(MEDIA_FAILURE_CODES.map((code) => Type.Literal(code))),
          ),
          message: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
    /** Epoch ms, and the duration in ms of each step (`decode`, `probe`, `transcode`, `poster`, `upload`, …). */
    timings: Type.Object(
      {
        requestedAt: Integer(),
        startedAt: Integer(),
        finishedAt: Integer(),
        steps: Type.Record(Type.String(), Integer()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type MediaManifest = Static<typeof MediaManifestSchema>;
export const mediaManifestValidator = compileSchema(MediaManifestSchema);
