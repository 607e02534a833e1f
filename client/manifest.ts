/**
 * Waiting for a media job's manifest (written last by the media worker, so its presence means the job is over), then
 * presigned URLs for the outputs — with the grant's own credentials, which may read what was derived from this
 * user's uploads and nothing else. OSS answers 404 until the manifest exists; polls back off up to 2 s.
 */
import type { CallbackAnswer } from '../shared/callback-contract.js';
import type { MediaManifest, MediaOutput } from '../shared/media-manifest.js';
import { abortError, NetworkError, UploadError } from './errors.js';
import type { CredentialsGrant as Grant } from './grant.js';
import { presignedGet } from './oss-sign.js';
import { ossError } from './oss-xml.js';
import { sleep } from './retry.js';
import { OSS_READ_HEADERS } from './transport.js';

export interface OutputWithUrl extends MediaOutput {
  /** A presigned GET URL, valid until `urlsExpireAt`. */
  url: string;
}

export interface JobOutputs {
  kind: 'image' | 'video';
  manifestKey: string;
  manifest: MediaManifest;
  outputs: OutputWithUrl[];
  urlsExpireAt: string;
}

export interface WaitOptions {
  /** Default 180 000. */
  timeoutMs?: number;
  /** Lifetime of the outputs' URLs (default 3600, at most until the grant's credentials expire). */
  urlSeconds?: number;
  signal?: AbortSignal;
}

async function readManifest(
  grant: Grant,
  key: string,
  signal?: AbortSignal,
): Promise<MediaManifest | undefined> {
  const target = { endpoint: grant.endpoint, bucket: grant.bucket, region: grant.region };
  const url = await presignedGet(grant.credentials, target, key, 60);
  let response: Response;
  try {
    response = await fetch(url, { cache: 'no-store', ...(signal ? { signal } : {}) } as RequestInit);
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    throw new NetworkError(`reading ${key}: ${(error as Error).message}`, { cause: error });
  }
  if (response.status === 404) return undefined;
  const text = await response.text();
  if (response.status !== 200) {
    const error = ossError(text, response.headers.get(OSS_READ_HEADERS.requestId));
    throw new UploadError(
      'OssRefused',
      `reading ${key}: OSS answered ${response.status} ${error.code}: ${error.message}`,
      {
        status: response.status,
        code: error.code,
        ...(error.requestId ? { requestId: error.requestId } : {}),
      },
    );
  }
  return JSON.parse(text) as MediaManifest;
}

export async function waitForOutputs(
  grant: Grant,
  jobs: CallbackAnswer['jobs'],
  options: WaitOptions = {},
): Promise<JobOutputs[]> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  const results: JobOutputs[] = [];
  for (const job of jobs) {
    let pause = 250;
    let manifest: MediaManifest | undefined;
    for (;;) {
      try {
        manifest = await readManifest(grant, job.manifestKey, options.signal);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
      }
      if (manifest) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new UploadError(
          'TimedOut',
          `no manifest at ${job.manifestKey} after ${Math.round(timeoutMs / 1000)} s: the ${job.kind} job is still queued or running, or the media worker is not running`,
          { key: job.manifestKey },
        );
      }
      await sleep(Math.min(pause, left), options.signal);
      pause = Math.min(pause * 1.5, 2000);
    }
    if (manifest.status !== 'succeeded') {
      throw new UploadError(
        'ProcessingFailed',
        `processing ${manifest.key} failed: ${manifest.error?.code ?? 'Unknown'}: ${manifest.error?.message ?? ''}`,
        { ...(manifest.error ? { code: manifest.error.code } : {}), key: manifest.key },
      );
    }
    const remaining = Math.floor((Date.parse(grant.credentials.expiration) - Date.now()) / 1000);
    const lifetime = Math.max(1, Math.min(options.urlSeconds ?? 3600, remaining));
    const target = { endpoint: grant.endpoint, bucket: grant.bucket, region: grant.region };
    const outputs = await Promise.all(
      manifest.outputs.map(async (output) => ({
        ...output,
        url: await presignedGet(grant.credentials, target, output.key, lifetime),
      })),
    );
    results.push({
      kind: job.kind,
      manifestKey: job.manifestKey,
      manifest,
      outputs,
      urlsExpireAt: new Date(Date.now() + lifetime * 1000).toISOString(),
    });
  }
  return results;
}
