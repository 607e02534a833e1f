/** The shape of a sub-benchmark, as bench/run.ts runs it. */
import type { Summary } from './results.js';

export interface BenchContext {
  /** Shorter runs for trying the suite out; the published figures come from full runs. */
  quick: boolean;
  /** A scratch directory for this run, removed afterwards. */
  scratch: string;
  /** Progress line on stderr. */
  log(message: string): void;
}

export interface BenchOutcome {
  summary: Partial<Summary>;
  details: Record<string, unknown>;
  /** This bench's section of BENCHMARKS.md. */
  markdown: string;
  /** Tools whose versions the machine section should show. */
  tools?: { ffmpeg?: string; convert?: string };
}

export interface Bench {
  name: string;
  /** One line for `npm run bench -- --help` and the report. */
  title: string;
  run(context: BenchContext): Promise<BenchOutcome>;
}

/** A markdown table. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Whether a figure met its target, for the report: `met (< 50 ms)` or `**missed** (< 50 ms)`. */
export function verdict(met: boolean, target: string): string {
  return `${met ? 'met' : '**missed**'} (${target})`;
}
