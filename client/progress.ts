/** Progress as an app shows it: bytes done of total, the recent rate (bytes/s) and the time left at that rate. */

export interface UploadProgress {
  /** Bytes of the file that OSS has, or that are on their way (in-flight bytes drop back if a request fails). */
  loaded: number;
  total: number;
  /** loaded / total, 0…1. */
  fraction: number;
  /** Bytes per second over the last few seconds; 0 until measurable. */
  bytesPerSecond: number;
  /** Seconds left at that rate, or null when unknown. */
  etaSeconds: number | null;
  /** Bytes already there when this run started (a resumed upload). */
  resumedBytes: number;
}

const WINDOW_MS = 5000;

/** Rate over a sliding window of (time, loaded) samples: robust to bursts and to in-flight bytes being dropped. */
export class ProgressMeter {
  private samples: Array<[number, number]> = [];
  constructor(
    readonly total: number,
    private readonly now: () => number = Date.now,
  ) {}

  measure(loaded: number, resumedBytes: number): UploadProgress {
    const at = this.now();
    this.samples.push([at, loaded]);
    while (this.samples.length > 2 && (this.samples[0] as [number, number])[0] < at - WINDOW_MS) {
      this.samples.shift();
    }
    const [firstAt, firstLoaded] = this.samples[0] as [number, number];
    const elapsed = (at - firstAt) / 1000;
    const bytesPerSecond = elapsed >= 0.25 ? Math.max(0, (loaded - firstLoaded) / elapsed) : 0;
    const left = this.total - loaded;
    return {
      loaded,
      total: this.total,
      fraction: this.total === 0 ? 1 : loaded / this.total,
      bytesPerSecond,
      etaSeconds: left <= 0 ? 0 : bytesPerSecond > 0 ? left / bytesPerSecond : null,
      resumedBytes,
    };
  }
}
