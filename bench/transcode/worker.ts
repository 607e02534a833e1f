/**
 * The transcode measurement, in its own process (its logs go where the runner sends stdout): a generated 10 s 1080p
 * clip through the media function on the local cloud (HEAD, lease, ffprobe and ffmpeg reading the source over a
 * presigned URL, the poster and its thumbnails, uploads, the manifest), against the same ffmpeg transcode command run
 * by hand. The command is the one the job ran: ffmpeg is reached through a wrapper that records its arguments. By
 * hand it is replayed twice: as it is, on a fresh presigned URL of the same object (the same command), and on the
 * local file (what reading the source from OSS costs). argv: scratch directory, rounds.
 */
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMediaHandler } from '../../functions/media/app.js';
import { runTool } from '../../functions/media/ffmpeg.js';
import { startLocalCloud } from '../../local/cloud.js';
import { mediaManifestValidator } from '../../shared/media-manifest.js';
import { createOssClient, presignedGetUrl } from '../../shared/oss-client.js';
import { runAsChild } from '../lib/child.js';
import { CLIP_SECONDS, clip1080p } from '../lib/media-fixtures.js';
import { invokeJob, jobFor, mediaEnv, staticTools } from '../lib/media-job.js';
import { mean, msSince } from '../lib/stats.js';

const BUCKET = 'upcall-bench';

export interface TranscodeFigures {
  clipBytes: number;
  jobMs: number[];
  /** The job's command by hand, on a presigned URL of the same object. */
  handMs: number[];
  /** The job's command by hand, on the local file. */
  handFileMs: number[];
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

/** `recorded` reading `input` and writing `output`; a file input drops the HTTP-only options (stall timeout, If-Match). */
function replay(recorded: string[], input: string, output: string): string[] {
  const at = recorded.indexOf('-i');
  const http = /^https?:/.test(input);
  const replayed: string[] = [];
  for (let i = 0; i < recorded.length; i++) {
    if (!http && i < at && (recorded[i] === '-rw_timeout' || recorded[i] === '-headers')) {
      i++;
      continue;
    }
    replayed.push(i === at + 1 ? input : i === recorded.length - 1 ? output : (recorded[i] as string));
  }
  return replayed;
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

    const keyOf = (round: number) => `uploads/alice/clip-${round}.mp4`;
    // Every round's object is stored before anything is timed, so no upload's aftermath falls in a timed run.
    for (let round = 0; round <= rounds; round++) await root.put(keyOf(round), body, { mime: 'video/mp4' });
    const runJob = async (round: number) => {
      const { job, manifestKey } = await jobFor(root, BUCKET, keyOf(round), 'video/mp4');
      const ms = await invokeJob(handler, job, `bench-${round}`, credentials);
      const stored = JSON.parse(String((await root.get(manifestKey)).content));
      const manifest = mediaManifestValidator.validate(stored);
      if (!manifest.ok) throw new Error('invalid manifest');
      return { ms, steps: manifest.value.timings.steps };
    };
    const runByHand = async (args: string[]) => {
      const started = process.hrtime.bigint();
      await runTool(tools.ffmpeg, args, { timeoutMs: 300_000 });
      return msSince(started);
    };

    // A first job records the command and warms the caches; then each round runs a job and the command by hand.
    await runJob(0);
    const recorded = await recordedTranscode(logDir);
    const byHand = join(dir, 'by-hand.mp4');
    const jobMs: number[] = [];
    const handMs: number[] = [];
    const handFileMs: number[] = [];
    const steps: Array<Record<string, number>> = [];
    for (let round = 1; round <= rounds; round++) {
      const url = await presignedGetUrl(root, keyOf(round), 3600);
      const hand = () => runByHand(replay(recorded, url, byHand));
      // The job and its hand run swap places every round, so neither always runs on a machine the other warmed.
      if (round % 2 === 1) handMs.push(await hand());
      const job = await runJob(round);
      if (round % 2 === 0) handMs.push(await hand());
      handFileMs.push(await runByHand(replay(recorded, clip, byHand)));
      jobMs.push(job.ms);
      steps.push(job.steps);
    }
    const names = Object.keys(steps[0] ?? {});
    return {
      clipBytes: body.length,
      jobMs,
      handMs,
      handFileMs,
      steps: Object.fromEntries(names.map((name) => [name, mean(steps.map((s) => s[name] ?? 0))])),
      handArgs: replay(recorded, 'http://<oss endpoint>/<bucket>/<key>?<V4 presigned query>', '<out.mp4>'),
      ffmpeg: tools.ffmpeg,
    };
  } finally {
    await cloud.close();
    await rm(dir, { recursive: true, force: true });
  }
});
