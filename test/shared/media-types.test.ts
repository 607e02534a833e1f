/**
 * What phones upload gets a job, and by default may be uploaded: HEIC/HEIF stills (and their `-sequence` forms)
 * plan thumbnails, QuickTime `.mov` plans a transcode and poster, and the token function's default allows exactly
 * what the media function processes.
 */
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../shared/config.js';
import { mediaKindOf, planMediaJob } from '../../shared/media-job.js';
import { contentTypeAllowed } from '../../shared/upload-ticket.js';

const PLAN = {
  derivedPrefix: 'derived/',
  thumbnailSizes: [{ width: 320, height: 320 }],
  thumbnailFormats: ['webp' as const],
};
const object = (contentType: string) => ({
  bucket: 'b-app',
  key: 'uploads/u/x',
  etag: 'A'.repeat(32),
  contentType,
});

describe('content types phones upload', () => {
  it.each([
    ['image/heic', 'image'],
    ['image/heif', 'image'],
    ['image/HEIC', 'image'],
    ['image/heic-sequence', 'image'],
    ['image/heif-sequence', 'image'],
    ['image/avif', 'image'],
    ['video/quicktime', 'video'],
    ['video/mp4', 'video'],
    ['application/pdf', null],
    ['image/x-icon', null],
  ])('%s → %s', (type, kind) => {
    expect(mediaKindOf(type)).toBe(kind);
  });

  it('plans thumbnails for a HEIC and a transcode with poster for a .mov', () => {
    expect(planMediaJob(object('image/heic'), PLAN)?.outputs.map((o) => o.role)).toEqual(['thumbnail']);
    expect(planMediaJob(object('video/quicktime'), PLAN)?.outputs.map((o) => o.role)).toEqual([
      'transcode',
      'poster',
      'thumbnail',
    ]);
  });

  it('allows by default exactly the types that get a job', () => {
    const allowed = String(SETTINGS.UPCALL_ALLOWED_CONTENT_TYPES.schema.default).split(',');
    for (const type of ['image/heic', 'image/heif', 'image/heic-sequence', 'video/quicktime', 'image/jpeg']) {
      expect(contentTypeAllowed(type, allowed), type).toBe(true);
      expect(mediaKindOf(type), type).not.toBeNull();
    }
    for (const type of ['application/pdf', 'image/x-icon', 'text/plain']) {
      expect(contentTypeAllowed(type, allowed), type).toBe(false);
    }
  });
});
