/**
 * The transcode measurement, in its own process (its logs go where the runner sends stdout): a generated 10 s 1080p
 * clip through the media function on the local cloud (HEAD, lease, ffprobe and ffmpeg reading the source over a
 * presigned URL, the poster and its thumbnails, uploads, the manifest), against the same ffmpeg transcode command run
 * by hand on the local file. The command is the one the job ran: ffmpeg is reached through a wrapper that records its
 * arguments, and the hand run replays them with the file as input. argv: scratch directory, rounds.
 */
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMediaHandler } from '../../functions/media/app.js';
import { locateMediaTools, runTool } from '../../functions/media/ffmpeg.js';
import { startLocalCloud } from '../../local/cloud.js';
import { loadMediaPlanSettings, type MediaJob, planMediaJob } from '../../shared/media-job.js';
import { mediaManifestValidator } from '../../shared/media-manifest.js';
import { createOssClient } from '../../shared/oss-client.js';
import { runAsChild } from '../lib/child.js';
import { CLIP_SECONDS, clip1080p } from '../lib/media-fixtures.js';
import { mean, msSince } from '../lib/stats.js';

const BUCKET = 'upcall-bench';

export interface TranscodeFigures {
  clipBytes: number;
  jobMs: number[];
  handMs: number[];
  /** Mean ms of each step the job's manifest records. */
  steps: Record<string, number>;
  handArgs: string[];
  ffmpeg: string;
}

/** A shell wrapper around ffmpeg that writes each call's arguments (NUL-separated) to a file in `logDir`. */
async function recordingFfmpeg(dir: string, ffmpeg: string, logDir: string): Promise<string> {
  const wrapper = join(dir, 'ffmpeg');
  await mkdir(logDir, { recursive: true });
  await writeFile(
    wrapper,
    `#!/bin/sh\nprintf '%s\\0' "$@" > "$(mktemp -p '${logDir}' call-XXXXXX)"\nexec '${ffmpeg}' "$@"\n`,
  );
  await chmod(wrapper, 0o755);
  return wrapper;
}

/** The job's transcode call (the one encoding H.264), with its input swapped for `file`. */
async function recordedTranscode(logDir: string, file: string, output: string): Promise<string[]> {
  for (const name of await readdir(logDir)) {
    const args = (await readFile(join(logDir, name), 'utf8')).split('\0').slice(0, -1);
    if (!args.includes('libx264')) continue;
    const input = args.indexOf('-i');
    const replayed: string[] = [];
    for (let i = 0; i < args.length; i++) {
      // HTTP-only input options (stall timeout, If-Match) mean nothing for a file.
      if (i < input && (args[i] === '-rw_timeout' || args[i] === '-headers')) {
        i++;
        continue;
      }
      replayed.push(i === input + 1 ? file : i === args.length - 1 ? output : (args[i] as string));
    }
    return replayed;
  }
  throw new Error('the media job ran no H.264 transcode');
}

runAsChild(async (): Promise<TranscodeFigures> => {
  const [scratch, roundsArg] = process.argv.slice(2) as [string, string];
  const rounds = Number(roundsArg);
  const dir = join(scratch, 'transcode');
  const logDir = join(dir, 'ffmpeg-calls');
  await mkdir(dir, { recursive: true });
  const clip = await clip1080p(scratch, CLIP_SECONDS);
  const body = await readFile(clip);
  const tools = await locateMediaTools({ ffmpeg: '', ffprobe: '' }, process.env);
  const cloud = await startLocalCloud({ dataDir: join(dir, 'cloud'), buckets: [BUCKET] });
  try {
    const { info } = cloud;
    const env = {
      UPCALL_REGION: info.region,
      UPCALL_BUCKET: BUCKET,
      UPCALL_OSS_ENDPOINT: info.oss.endpoint,
      UPCALL_FC_ENDPOINT: info.fc.endpoint,
      FFMPEG_PATH: await recordingFfmpeg(dir, tools.ffmpeg, logDir),
      FFPROBE_PATH: tools.ffprobe,
    };
    const handler = createMediaHandler(env, { scratchDir: dir });
    const root = createOssClient({
      endpoint: info.oss.endpoint,
      region: info.region,
      bucket: BUCKET,
      credentials: info.rootCredentials,
    });
    const credentials = cloud.account.issueTemporary({
      roleArn: info.roles.media,
      roleSessionName: 'upcall-media',
      durationSeconds: 3600,
    });
    const plan = loadMediaPlanSettings({});

    const runJob = async (round: number) => {
      const key = `uploads/alice/clip-${round}.mp4`;
      await root.put(key, body, { mime: 'video/mp4' });
      const headers = (await root.head(key)).res.headers as Record<string, string>;
      const etag = (headers.etag ?? '').replaceAll('"', '');
      const planned = planMediaJob({ bucket: BUCKET, key, etag, contentType: 'video/mp4' }, plan);
      if (!planned) throw new Error('no plan for video/mp4');
      const job: MediaJob = {
        version: 1,
        kind: 'video',
        bucket: BUCKET,
        key,
        etag,
        size: body.length,
        contentType: 'video/mp4',
        source: 'callback',
        taskId: planned.taskId,
        requestedAt: Date.now(),
      };
      const started = process.hrtime.bigint();
      const result = await handler(Buffer.from(JSON.stringify(job)), {
        requestId: `bench-${round}`,
        credentials,
      });
      const ms = msSince(started);
      if (result.outcome !== 'succeeded') throw new Error(`media job ended ${JSON.stringify(result)}`);
      const stored = JSON.parse(String((await root.get(planned.manifestKey)).content));
      const manifest = mediaManifestValidator.validate(stored);
      if (!manifest.ok) throw new Error('invalid manifest');
      return { ms, steps: manifest.value.timings.steps };
    };
    const runByHand = async (args: string[]) => {
      const started = process.hrtime.bigint();
      await runTool(tools.ffmpeg, args, { timeoutMs: 300_000 });
      return msSince(started);
    };

    // A first job records the command and warms the caches; then hand and job alternate.
    await runJob(0);
    const handArgs = await recordedTranscode(logDir, clip, join(dir, 'by-hand.mp4'));
    const jobMs: number[] = [];
    const handMs: number[] = [];
    const steps: Array<Record<string, number>> = [];
    for (let round = 1; round <= rounds; round++) {
      handMs.push(await runByHand(handArgs));
      const job = await runJob(round);
      jobMs.push(job.ms);
      steps.push(job.steps);
    }
    const names = Object.keys(steps[0] ?? {});
    return {
      clipBytes: body.length,
      jobMs,
      handMs,
      steps: Object.fromEntries(names.map((name) => [name, mean(steps.map((s) => s[name] ?? 0))])),
      handArgs: handArgs.map((arg) => arg.replaceAll(dir, '<dir>').replaceAll(clip, '<clip.mp4>')),
      ffmpeg: tools.ffmpeg,
    };
  } finally {
    await cloud.close();
    await rm(dir, { recursive: true, force: true });
  }
});
