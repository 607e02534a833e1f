/**
 * End to end on the dev stack (`startDevStack`: local cloud, token and callback functions over HTTP, the media function
 * in the local FC), in its own process so its logs go where the runner sends stdout. Per upload: a token from the
 * token function (not timed), then the timed part — ali-oss PutObject with the callback, which resolves once OSS
 * has the callback's answer, and polling the job's manifest until the thumbnails are ready.
 * argv: scratch directory, 12 MP JPEG, uploads.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { startDevStack } from '../../local/dev/stack.js';
import type { CallbackAnswer } from '../../shared/callback-contract.js';
import { mediaManifestValidator } from '../../shared/media-manifest.js';
import { createOssClient } from '../../shared/oss-client.js';
import type { TokenResponse } from '../../shared/token-contract.js';
import { runAsChild } from '../lib/child.js';
import { msSince } from '../lib/stats.js';

const POLL_MS = 20;

export interface E2eSample {
  callbackAnswerMs: number;
  readyMs: number;
  /** The manifest's step timings (download, render, upload…). */
  steps: Record<string, number>;
  /** From the job's dispatch (`requestedAt`) to the worker starting it. */
  queuedMs: number;
}

export interface E2eFigures {
  photoBytes: number;
  tokenMs: number[];
  samples: E2eSample[];
}

runAsChild(async (): Promise<E2eFigures> => {
  const [scratch, photoFile, uploadsArg] = process.argv.slice(2) as [string, string, string];
  const dataDir = join(scratch, 'e2e');
  await mkdir(dataDir, { recursive: true });
  const photo = await readFile(photoFile);
  const stack = await startDevStack({
    dataDir,
    ports: { oss: 0, sts: 0, fc: 0, token: 0, callback: 0, demo: 0 },
  });
  try {
    const { info } = stack;
    const root = createOssClient({
      endpoint: info.oss.endpoint,
      region: info.region,
      bucket: info.bucket,
      credentials: info.rootCredentials,
    });
    const jwt = await stack.userToken('alice');
    const tokenMs: number[] = [];
    const samples: E2eSample[] = [];
    const uploads = Number(uploadsArg);
    // Upload 0 warms every part up and is not counted.
    for (let upload = 0; upload <= uploads; upload++) {
      const tokenStarted = process.hrtime.bigint();
      const response = await fetch(info.token.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
        body: JSON.stringify({ contentType: 'image/jpeg', size: photo.length }),
      });
      if (!response.ok) throw new Error(`token: ${response.status} ${await response.text()}`);
      const token = (await response.json()) as TokenResponse;
      const tokenTime = msSince(tokenStarted);
      const client = new OSS({
        endpoint: token.endpoint,
        region: `oss-${token.region}`,
        bucket: token.bucket,
        accessKeyId: token.credentials.accessKeyId,
        accessKeySecret: token.credentials.accessKeySecret,
        stsToken: token.credentials.securityToken,
        refreshSTSTokenInterval: 3_600_000,
      });

      const started = process.hrtime.bigint();
      const put = await client.put(`${token.keyPrefix}photo-${upload}.jpg`, photo, {
        // The grant's upload headers carry the ticket stored with the object, which the callback checks.
        headers: { 'Content-Type': 'image/jpeg', ...token.uploadHeaders },
        callback: token.callback.aliOss,
      } as OSS.PutObjectOptions);
      const callbackAnswerMs = msSince(started);
      const answer = put.data as CallbackAnswer;
      const manifestKey = answer.jobs[0]?.manifestKey;
      if (!manifestKey) throw new Error(`the callback queued no job: ${JSON.stringify(answer)}`);
      let manifest: unknown;
      for (;;) {
        try {
          manifest = JSON.parse(String((await root.get(manifestKey)).content));
          break;
        } catch (error) {
          if ((error as { status?: number }).status !== 404) throw error;
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      }
      const readyMs = msSince(started);
      const checked = mediaManifestValidator.validate(manifest);
      if (!checked.ok || checked.value.status !== 'succeeded') {
        throw new Error(`the job did not succeed: ${JSON.stringify(manifest)}`);
      }
      if (upload === 0) continue;
      tokenMs.push(tokenTime);
      const { timings } = checked.value;
      samples.push({
        callbackAnswerMs,
        readyMs,
        steps: timings.steps,
        queuedMs: timings.startedAt - timings.requestedAt,
      });
    }
    return { photoBytes: photo.length, tokenMs, samples };
  } finally {
    await stack.close();
  }
});
