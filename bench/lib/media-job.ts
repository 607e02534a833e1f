/** What the benches running the media function share: the ffmpeg builds it runs with, and the job for a stored upload. */
import type OSS from 'ali-oss';
import type { createMediaHandler } from '../../functions/media/app.js';
import type { MediaTools } from '../../functions/media/ffmpeg.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { loadMediaPlanSettings, type MediaJob, planMediaJob } from '../../shared/media-job.js';
import { msSince } from './stats.js';

/**
 * The static ffmpeg and ffprobe builds the project ships for development (`@ffmpeg-installer`), the kind FC's
 * FFmpeg layer provides — not a distribution's dynamically linked ones, which take ~50 ms to start, four times a job.
 */
export async function staticTools(): Promise<MediaTools> {
  const [ffmpeg, ffprobe] = await Promise.all([
    import('@ffmpeg-installer/ffmpeg'),
    import('@ffprobe-installer/ffprobe'),
  ]);
  return { ffmpeg: ffmpeg.default.path, ffprobe: ffprobe.default.path };
}

/**
 * The media function's settings against a local cloud: its endpoints, `bucket`, the ffmpeg builds `tools`, and a
 * ticket keyring (required; the bench's jobs come by the callback path, which reads no ticket).
 */
export function mediaEnv(
  info: { region: string; oss: { endpoint: string }; fc: { endpoint: string } },
  bucket: string,
  tools: MediaTools,
): NodeJS.ProcessEnv {
  return {
    UPCALL_REGION: info.region,
    UPCALL_BUCKET: bucket,
    UPCALL_OSS_ENDPOINT: info.oss.endpoint,
    UPCALL_FC_ENDPOINT: info.fc.endpoint,
    UPCALL_TICKET_KEYS: `bench:${'k'.repeat(40)}`,
    FFMPEG_PATH: tools.ffmpeg,
    FFPROBE_PATH: tools.ffprobe,
  };
}

/** The job the callback function would dispatch for the object stored at `key`, and where its manifest goes. */
export async function jobFor(
  root: OSS,
  bucket: string,
  key: string,
  contentType: string,
): Promise<{ job: MediaJob; manifestKey: string }> {
  const head = await root.head(key);
  const etag = ((head.res.headers as Record<string, string>).etag ?? '').replaceAll('"', '');
  const size = Number((head.res.headers as Record<string, string>)['content-length']);
  const planned = planMediaJob({ bucket, key, etag, contentType }, loadMediaPlanSettings({}));
  if (!planned) throw new Error(`no plan for ${contentType}`);
  return {
    job: {
      version: 1,
      kind: planned.kind,
      bucket,
      key,
      etag,
      size,
      contentType,
      source: 'callback',
      taskId: planned.taskId,
      requestedAt: Date.now(),
    },
    manifestKey: planned.manifestKey,
  };
}

/** One invocation of the media handler on `job`, as FC makes it: its wall time in ms. Throws unless the job succeeded. */
export async function invokeJob(
  handler: ReturnType<typeof createMediaHandler>,
  job: MediaJob,
  requestId: string,
  credentials: RoleCredentials,
): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await handler(Buffer.from(JSON.stringify(job)), { requestId, credentials });
  const ms = msSince(started);
  if (result.outcome !== 'succeeded') throw new Error(`media job ended ${JSON.stringify(result)}`);
  return ms;
}
