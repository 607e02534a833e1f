/**
 * Which uploads the media worker processes, by content type: one list for the job plan (`media-job.ts`) and the
 * token function's default of what may be uploaded (`UPCALL_ALLOWED_CONTENT_TYPES`), so by default every upload a
 * user may make gets its thumbnails or transcode.
 */

/**
 * Image types with thumbnails: sharp's own decoders, plus HEIC/HEIF, whose HEVC pixels `functions/media/heic.ts`
 * decodes (AVIF, also HEIF, stays with sharp). The `-sequence` types (bursts, animations) give their primary image.
 */
export const PROCESSED_IMAGE_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/tiff',
  'image/svg+xml',
  'image/heic',
  'image/heif',
  'image/heic-sequence',
  'image/heif-sequence',
] as const;

/** Every `video/*` type is transcoded: ffmpeg reads what phones and browsers record (MP4, QuickTime `.mov`, WebM). */
export const PROCESSED_VIDEO_TYPES = ['video/*'] as const;

export const PROCESSED_CONTENT_TYPES: readonly string[] = [
  ...PROCESSED_IMAGE_TYPES,
  ...PROCESSED_VIDEO_TYPES,
];
