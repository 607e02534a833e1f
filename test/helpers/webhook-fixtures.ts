/** One upload and one media result as the webhook tests describe them, and the secret they are signed with. */
import type { MediaManifest } from '../../shared/media-manifest.js';
import { uploadCompletedMessage } from '../../shared/webhook-events.js';
import { ETAG } from './callback-core.js';
import { newWebhookSecret } from './webhook-cloud.js';

export const SECRET = newWebhookSecret();
export const OBJECT = {
  bucket: 'upcall-test',
  key: 'uploads/alice/cat.png',
  etag: ETAG,
  size: 2048,
  contentType: 'image/png',
  claimedImage: { width: 64, height: 48, format: 'png' },
};
export const uploadMessage = () =>
  uploadCompletedMessage({ object: OBJECT, userId: 'alice', jobs: [] }, Date.UTC(2026, 0, 2));

export const MANIFEST: MediaManifest = {
  version: 1,
  status: 'succeeded',
  taskId: 'upcall-abc',
  bucket: 'upcall-test',
  key: 'uploads/alice/cat.png',
  etag: ETAG,
  kind: 'image',
  contentType: 'image/png',
  size: 2048,
  source: 'callback',
  attempt: 1,
  outputs: [],
  timings: { requestedAt: 1, startedAt: 2, finishedAt: 3, steps: {} },
};
