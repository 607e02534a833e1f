/**
 * The transcode measurement, in its own process (its logs go where the runner sends stdout): a generated 10 s 1080p
 * clip through the media function on the local cloud (HEAD, lease, download of the source to scratch, ffprobe and
 * ffmpeg on that local file, the poster and its thumbnails, uploads, the manifest), against the same ffmpeg transcode
 * command run by hand. The command is the one the job ran: ffmpeg is reached through a wrapper that records its
 * arguments. By hand it is replayed on a local copy of the same bytes (the job's whitelist and demuxer kept), and once
 * more after downloading the object the way the job does (the media store's If-Match read), so the download's share
 * shows. argv: scratch directory, rounds.
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createMediaHandler } from '../../functions/media/app.js';
import { runTool } from '../../functions/media/ffmpeg.js';
import { createOssMediaStore } from '../../functions/media/store.js';
import { startLocalCloud } from '../../local/cloud.js';
import type { MediaJob } from '../../shared/media-job.js';
import { mediaManifestValidator } from '../../shared/media-manifest.js';
import { createOssClient } from '../../shared/oss-client.js';
import { runAsChild } from '../lib/child.js';
import { CLIP_SECONDS, clip1080p } from '../lib/media-fixtures.js';
import { invokeJob, jobFor, mediaEnv, staticTools } from '../lib/media-job.js';
import { mean, msSince } from '../lib/stats.js';

const BUCKET = 'upcall-bench';

export interface TranscodeFigures {
  clipBytes: number;
  jobMs: number[];
  /** The job's command by hand, on a local copy of the source. */
  handMs: number[];
  /** Downloading the object to scratch as the job does, then the job's command by hand on that file. */
  downloadHandMs: number[];
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

/** The job's transcode call (the one encoding H.264), as ffmpeg received it. */
async function recordedTranscode(logDir: string): Promise<string[]> {
  for (const name of await readdir(logDir)) {
    const args = (await readFile(join(logDir, name), 'utf8')).split('\0').slice(0, -1);
    if (args.includes('libx264')) return args;
  }
  throw new Error('the media job ran no H.264 transcode');
}

/** `recorded` reading `input` and writing `output`: the job's own arguments, whitelist and demuxer included. */
function replay(recorded: string[], input: string, output: string): string[] {
  const at = recorded.indexOf('-i') + 1;
  return recorded.map((arg, i) => (i === at ? input : i === recorded.length - 1 ? output : arg));
}

runAsChild(async (): Promise<TranscodeFigures> => {
  const [scratch, roundsArg] = process.argv.slice(2) as [string, string];
  const rounds = Number(roundsArg);
  const dir = join(scratch, 'transcode');
  const logDir = join(dir, 'ffmpeg-calls');
  await mkdir(dir, { recursive: true });
  const clip = await clip1080p(scratch, CLIP_SECONDS);
  const body = await readFile(clip);
  const tools = await staticTools();
  const cloud = await startLocalCloud({ dataDir: join(dir, 'cloud'), buckets: [BUCKET] });
  try {
    const { info } = cloud;
    const env = mediaEnv(info, BUCKET, {
      ...tools,
      ffmpeg: await recordingFfmpeg(dir, tools.ffmpeg, logDir),
    });
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
    // The read the job's download makes (If-Match on the etag), for "download, then the command".
    const store = createOssMediaStore(root);

    const keyOf = (round: number) => `uploads/alice/clip-${round}.mp4`;
    // Every round's object is stored before anything is timed, so no upload's aftermath falls in a timed run.
    for (let round = 0; round <= rounds; round++) await root.put(keyOf(round), body, { mime: 'video/mp4' });
    const runJob = async (job: MediaJob, manifestKey: string, round: number) => {
      const ms = await invokeJob(handler, job, `bench-${round}`, credentials);
      const stored = JSON.parse(String((await root.get(manifestKey)).content));
      const manifest = mediaManifestValidator.validate(stored);
      if (!manifest.ok) throw new Error('invalid manifest');
      return { ms, steps: manifest.value.timings.steps };
    };
    const planned = (round: number) => jobFor(root, BUCKET, keyOf(round), 'video/mp4');
    const runByHand = async (args: string[]) => {
      const started = process.hrtime.bigint();
      await runTool(tools.ffmpeg, args, { timeoutMs: 300_000 });
      return msSince(started);
    };
    const downloaded = join(dir, 'downloaded');
    const downloadThenByHand = async (key: string, etag: string, args: string[]) => {
      const started = process.hrtime.bigint();
      const stream = await store.openRead(key, etag);
      if (!stream) throw new Error(`${key} is gone`);
      await pipeline(stream, createWriteStream(downloaded));
      await runTool(tools.ffmpeg, args, { timeoutMs: 300_000 });
      return msSince(started);
    };

    // A first job records the command and warms the caches; then each round runs the job, the command by hand and
    // download + the command.
    const first = await planned(0);
    await runJob(first.job, first.manifestKey, 0);
    const recorded = await recordedTranscode(logDir);
    const byHand = join(dir, 'by-hand.mp4');
    const jobMs: number[] = [];
    const handMs: number[] = [];
    const downloadHandMs: number[] = [];
    const steps: Array<Record<string, number>> = [];
    for (let round = 1; round <= rounds; round++) {
      const { job, manifestKey } = await planned(round);
      const runs = [
        async () => {
          const ran = await runJob(job, manifestKey, round);
          jobMs.push(ran.ms);
          steps.push(ran.steps);
        },
        async () => handMs.push(await runByHand(replay(recorded, clip, byHand))),
        async () =>
          downloadHandMs.push(
            await downloadThenByHand(job.key, job.etag, replay(recorded, downloaded, byHand)),
          ),
      ];
      // The three take turns at going first, so none always runs on a machine another one warmed.
      for (let i = 0; i < runs.length; i++)
        await (runs[(round + i) % runs.length] as () => Promise<unknown>)();
    }
    const names = Object.keys(steps[0] ?? {});
    return {
      clipBytes: body.length,
      jobMs,
      handMs,
      downloadHandMs,
      steps: Object.fromEntries(names.map((name) => [name, mean(steps.map((s) => s[name] ?? 0))])),
      handArgs: replay(recorded, '<local copy of the source>', '<out.mp4>'),
      ffmpeg: tools.ffmpeg,
    };
  } finally {
    await cloud.close();
    await rm(dir, { recursive: true, force: true });
  }
});
