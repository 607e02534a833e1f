/**
 * The video pipeline (ffmpeg): probe the downloaded source, transcode it to H.264/AAC MP4 with faststart at most
 * `maxLines` lines, and grab a poster frame from the result; the outputs are written to the job's scratch folder.
 *
 * ffmpeg never sees a URL. Given one it would follow whatever the file names — an HLS or concat playlist's segments,
 * keys, `http:`/`tcp:` references — from inside the function's network. So every input is a local file, opened with
 * the demuxer its magic number names (sniff.ts) and a protocol whitelist of `file` alone: a reference to anything
 * else fails to open. Failures are told apart by cause: the tool could not start, or the disk is full (the instance's
 * trouble: retried), or anything else on these bytes — a refusal, a crash, a timeout (permanent; `RenderTimeout`). Messages are
 * upcall's own words; ffmpeg's output goes to the log only (it can quote paths and what the file references).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaFailure } from './failure.js';
import { type MediaTools, runTool, ToolError } from './ffmpeg.js';
import { type StreamColour, sdrConversion } from './video-colour.js';

export interface VideoOptions {
  tools: MediaTools;
  /** `UPCALL_VIDEO_MAX_HEIGHT`: bound on the shorter side of the displayed picture. */
  maxLines: number;
  maxDurationMs: number;
  workDir: string;
  /** ffmpeg's demuxer for the source, from its magic number (sniff.ts): never guessed by ffmpeg. */
  format: string;
  /** Epoch ms by which rendering must be over (job.ts keeps time back for uploads); tool timeouts never pass it. */
  deadline: number;
  now: () => number;
}

export interface VideoInfo {
  format: string;
  /** Displayed size (rotation applied). */
  width: number;
  height: number;
  durationMs?: number;
  videoCodec: string;
  audioCodec?: string;
}

export interface RenderedVideo {
  input: VideoInfo;
  transcode: { path: string; bytes: number; width: number; height: number; durationMs: number };
  poster: { path: string };
  steps: Record<string, number>;
}

const PROBE_TIMEOUT_MS = 30_000;
/** Generous for `-preset veryfast` at ≤ 1080 lines on one vCPU (typically faster than real time). */
const transcodeTimeoutMs = (durationMs: number) => 60_000 + 4 * durationMs;

/** The instance's trouble, not the file's: FC's retry (maybe on another instance) can succeed. */
const ENVIRONMENT_ERROR = /No space left on device|Cannot allocate memory/i;

interface ProbeStream extends StreamColour {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number | string; max_content?: number; max_luminance?: string }>;
}
interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string };
}

const FAILED_STEP = {
  probe: 'ffprobe could not read the file as video',
  transcode: 'ffmpeg could not transcode the video',
  inspect: 'ffprobe could not read the transcode back',
  poster: 'ffmpeg could not extract a poster frame',
} as const;

/**
 * Turn a tool failure into a permanent `MediaFailure` or a transient error, by its cause. The file is local, so
 * whatever goes wrong while the tool runs on it is the file's doing — except a tool that never started (a deployment
 * problem) and a full disk or memory.
 */
function failureOf(
  error: unknown,
  step: keyof typeof FAILED_STEP,
  fallback: 'UnsupportedMedia' | 'TranscodeFailed',
): Error {
  if (!(error instanceof ToolError)) return error as Error;
  const started = error.exitCode !== null || error.signal !== null || error.timedOut;
  if (!started || ENVIRONMENT_ERROR.test(error.stderrTail)) return error;
  // Killed at its time limit: the file asked for more work than allowed (e.g. a huge frame count).
  if (error.timedOut)
    return new MediaFailure('RenderTimeout', `${FAILED_STEP[step]} in time`, { cause: error });
  const how = error.signal ? ` (it crashed: ${error.signal})` : '';
  return new MediaFailure(fallback, `${FAILED_STEP[step]}${how}`, { cause: error });
}

/** How long a step may run: its own allowance, unless less is left before `deadline`. */
export function stepTimeoutMs(allowanceMs: number, deadline: number, now: () => number): number {
  return Math.min(allowanceMs, Math.max(1_000, deadline - now()));
}

/** How every input is opened: a local file, through the `file` protocol alone, with the demuxer named. */
function localInput(path: string, format: string): string[] {
  return ['-protocol_whitelist', 'file', '-f', format, '-i', path];
}

async function probe(tools: MediaTools, input: string[], timeoutMs: number): Promise<ProbeOutput> {
  const stdout = await runTool(
    tools.ffprobe,
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...input],
    { timeoutMs, captureStdout: true },
  );
  return JSON.parse(stdout) as ProbeOutput;
}

function rotationOf(stream: ProbeStream): number {
  const fromSideData = stream.side_data_list?.find((entry) => entry.rotation !== undefined)?.rotation;
  const degrees = Number(fromSideData ?? stream.tags?.rotate ?? 0);
  return Number.isFinite(degrees) ? ((Math.round(degrees) % 360) + 360) % 360 : 0;
}

function durationMsOf(output: ProbeOutput): number | undefined {
  const seconds = Number(output.format?.duration);
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : undefined;
}

function describe(output: ProbeOutput): VideoInfo {
  const video = output.streams?.find((stream) => stream.codec_type === 'video');
  if (!video?.width || !video.height) {
    throw new MediaFailure('NoVideoStream', 'the file has no video stream');
  }
  const audio = output.streams?.find((stream) => stream.codec_type === 'audio');
  const sideways = rotationOf(video) % 180 === 90;
  const durationMs = durationMsOf(output);
  return {
    format: output.format?.format_name ?? 'unknown',
    width: sideways ? video.height : video.width,
    height: sideways ? video.width : video.height,
    ...(durationMs !== undefined ? { durationMs } : {}),
    videoCodec: video.codec_name ?? 'unknown',
    ...(audio?.codec_name ? { audioCodec: audio.codec_name } : {}),
  };
}

/**
 * Scale so the shorter displayed side is at most `lines` (never enlarged), keeping the aspect ratio and even
 * dimensions (yuv420p needs them). ffmpeg applies rotation before filters, so iw/ih are the displayed sizes.
 */
function scaleFilter(lines: number): string {
  const short = (side: string) => `trunc(min(${lines}\\,${side})/2)*2`;
  return `scale='if(gte(iw\\,ih)\\,-2\\,${short('iw')})':'if(gte(iw\\,ih)\\,${short('ih')}\\,-2)'`;
}

export async function renderVideo(source: string, options: VideoOptions): Promise<RenderedVideo> {
  const { tools } = options;
  const sourceInput = localInput(source, options.format);
  const steps: Record<string, number> = {};
  const timed = async <T>(step: string, run: () => Promise<T>): Promise<T> => {
    const started = options.now();
    try {
      return await run();
    } finally {
      steps[step] = options.now() - started;
    }
  };

  const probed = await timed('probe', async () => {
    const timeoutMs = stepTimeoutMs(PROBE_TIMEOUT_MS, options.deadline, options.now);
    try {
      return await probe(tools, sourceInput, timeoutMs);
    } catch (error) {
      throw failureOf(error, 'probe', 'UnsupportedMedia');
    }
  });
  const input = describe(probed);
  if (input.durationMs !== undefined && input.durationMs > options.maxDurationMs) {
    throw new MediaFailure(
      'VideoTooLong',
      `the video lasts ${Math.round(input.durationMs / 1000)} s, over the limit of ${Math.round(options.maxDurationMs / 1000)} s`,
    );
  }

  const videoPath = join(options.workDir, 'video.mp4');
  // 8-bit SDR whatever the source: 10-bit scaled down, HDR tone-mapped (video-colour.ts).
  const colour = sdrConversion(probed.streams?.find((stream) => stream.codec_type === 'video') ?? {});
  await timed('transcode', async () => {
    const sized = transcodeTimeoutMs(input.durationMs ?? options.maxDurationMs);
    const args = [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
      ...sourceInput,
      // First video and (if any) first audio stream; no subtitles, data streams or metadata (GPS, device).
      ...['-map', '0:v:0', '-map', '0:a:0?', '-sn', '-dn', '-map_metadata', '-1'],
      ...['-vf', [scaleFilter(options.maxLines), ...colour.filters].join(',')],
      ...[
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-crf',
        '23',
        '-profile:v',
        'high',
        ...colour.outputOptions,
      ],
      ...['-c:a', 'aac', '-b:a', '128k', '-ac', '2'],
      ...['-movflags', '+faststart', '-max_muxing_queue_size', '1024', videoPath],
    ];
    const timeoutMs = stepTimeoutMs(sized, options.deadline, options.now);
    try {
      await runTool(tools.ffmpeg, args, { timeoutMs: timeoutMs });
    } catch (error) {
      throw failureOf(error, 'transcode', 'TranscodeFailed');
    }
  });

  const result = await timed('inspect', async () => {
    try {
      return await probe(tools, localInput(videoPath, 'mov'), PROBE_TIMEOUT_MS);
    } catch (error) {
      throw failureOf(error, 'inspect', 'TranscodeFailed');
    }
  });
  const produced = describe(result);
  const durationMs = produced.durationMs ?? input.durationMs ?? 0;

  const posterPath = join(options.workDir, 'poster.jpg');
  await timed('poster', async () => {
    // A frame a second in (or mid-way through a shorter clip) avoids the black or fade-in first frame. A clip of one
    // frame (or a few with one long timestamp) has nothing after 0, so the first frame is the fallback.
    const preferred = Math.min(1000, Math.floor(durationMs / 2)) / 1000;
    for (const at of preferred > 0 ? [preferred, 0] : [0]) {
      const args = [
        ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-ss', at.toFixed(3)],
        ...localInput(videoPath, 'mov'),
        ...['-frames:v', '1', '-q:v', '2', '-f', 'image2', posterPath],
      ];
      const timeoutMs = stepTimeoutMs(PROBE_TIMEOUT_MS, options.deadline, options.now);
      try {
        await runTool(tools.ffmpeg, args, { timeoutMs: timeoutMs });
      } catch (error) {
        throw failureOf(error, 'poster', 'TranscodeFailed');
      }
      // ffmpeg exits 0 without writing anything when no frame decodes at that point.
      const written = await stat(posterPath).catch(() => null);
      if (written?.size) return;
    }
    throw new MediaFailure('TranscodeFailed', 'poster: no frame could be extracted');
  });

  const bytes = (await stat(videoPath)).size;
  return {
    input,
    transcode: { path: videoPath, bytes, width: produced.width, height: produced.height, durationMs },
    poster: { path: posterPath },
    steps,
  };
}
