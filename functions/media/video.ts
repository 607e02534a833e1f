/**
 * The video pipeline (ffmpeg): probe the source over a presigned URL, transcode it to H.264/AAC MP4 with faststart at
 * most `maxLines` lines, and grab a poster frame from the result. ffmpeg reads the URL itself (ranged HTTP), so the
 * source never has to fit in memory or on disk; the outputs are written to the job's scratch folder for upload.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaFailure } from './failure.js';
import { lastLines, type MediaTools, runTool, ToolError } from './ffmpeg.js';
import { type StreamColour, sdrConversion } from './video-colour.js';

export interface VideoOptions {
  tools: MediaTools;
  /** `UPCALL_VIDEO_MAX_HEIGHT`: bound on the shorter side of the displayed picture. */
  maxLines: number;
  maxDurationMs: number;
  workDir: string;
  /** Read only this version: HTTP sources are requested with `If-Match`, so an overwrite mid-way fails cleanly. */
  sourceEtag?: string;
  /** Epoch ms by which the run must be over (the function's timeout); tool timeouts never pass it. */
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

/** A stalled read fails after this long (ffmpeg's `rw_timeout`, µs) instead of hanging until the deadline. */
const READ_STALL_US = 30_000_000;
const PROBE_TIMEOUT_MS = 30_000;
/** Generous for `-preset veryfast` at ≤ 1080 lines on one vCPU (typically faster than real time). */
const transcodeTimeoutMs = (durationMs: number) => 60_000 + 4 * durationMs;
/** Time kept back from the deadline for uploads and the manifest. */
const RESERVE_MS = 20_000;

/** Network trouble reading the source: transient, FC retries the job. */
const NETWORK_ERROR =
  /Connection (refused|reset|timed out)|Network is unreachable|No route to host|Failed to resolve|name resolution|Server returned (5\d\d|403|401)|Input\/output error|Operation timed out/i;
const SOURCE_GONE = /Server returned (404|412)/i;

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

/** Turn a tool failure into a permanent `MediaFailure` or a transient error, by what ffmpeg said. */
function failureOf(error: unknown, step: string, fallback: 'UnsupportedMedia' | 'TranscodeFailed'): Error {
  if (!(error instanceof ToolError)) return error as Error;
  if (!error.timedOut && SOURCE_GONE.test(error.stderrTail)) {
    return new MediaFailure(
      'SourceChanged',
      `${step}: the source disappeared (${lastLines(error.stderrTail, 1)})`,
    );
  }
  if (!error.timedOut && NETWORK_ERROR.test(error.stderrTail)) {
    return new Error(`${step}: network error reading the source: ${error.message}`, { cause: error });
  }
  if (error.exitCode === null && !error.timedOut) return error; // could not start: a deployment problem
  return new MediaFailure(fallback, `${step}: ${error.message}`, { cause: error });
}

function remainingMs(options: VideoOptions): number {
  return Math.max(1_000, options.deadline - options.now() - RESERVE_MS);
}

/** Input options for reading the source: stall timeout, and `If-Match` for HTTP sources. */
function sourceOptions(source: string, etag: string | undefined): string[] {
  const http = /^https?:\/\//.test(source);
  return [
    ...(http ? ['-rw_timeout', String(READ_STALL_US)] : []),
    ...(http && etag ? ['-headers', `If-Match: "${etag}"\r\n`] : []),
  ];
}

async function probe(
  tools: MediaTools,
  input: string,
  inputOptions: string[],
  timeoutMs: number,
): Promise<ProbeOutput> {
  const stdout = await runTool(
    tools.ffprobe,
    ['-v', 'error', ...inputOptions, '-print_format', 'json', '-show_format', '-show_streams', input],
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
  const readOptions = sourceOptions(source, options.sourceEtag);
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
    try {
      return await probe(tools, source, readOptions, Math.min(PROBE_TIMEOUT_MS, remainingMs(options)));
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
      ...readOptions,
      ...['-i', source],
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
    try {
      await runTool(tools.ffmpeg, args, { timeoutMs: Math.min(sized, remainingMs(options)) });
    } catch (error) {
      throw failureOf(error, 'transcode', 'TranscodeFailed');
    }
  });

  const result = await timed('inspect', async () => {
    try {
      return await probe(tools, videoPath, [], PROBE_TIMEOUT_MS);
    } catch (error) {
      throw failureOf(error, 'inspect the transcode', 'TranscodeFailed');
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
        ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-ss', at.toFixed(3), '-i', videoPath],
        ...['-frames:v', '1', '-q:v', '2', '-f', 'image2', posterPath],
      ];
      try {
        await runTool(tools.ffmpeg, args, { timeoutMs: Math.min(PROBE_TIMEOUT_MS, remainingMs(options)) });
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
