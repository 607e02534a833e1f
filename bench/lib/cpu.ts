/** CPU time of processes from /proc, to tell which process a load test saturated. */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** /proc/<pid>/stat's fields after the command name (which may hold spaces), so field 3 (state) is [0]. */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of a process (all its threads), in seconds; NaN once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = statFields(pid);
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of a process and all its descendants: its own, its ended children's it has waited for (cutime +
 * cstime: an ffmpeg run), and its live children's (a renderer kept between jobs), recursively.
 */
export function treeCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  let seconds =
    (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(entry)[1]) === pid) seconds += treeCpuSeconds(Number(entry));
    } catch {
      // ended while listed: its time is in its parent's cutime once waited for
    }
  }
  return seconds;
}

/** Sample the CPU time of named processes around `work`: the share of one core each used, per process. */
export async function cpuShare<T>(
  pids: Record<string, number | undefined>,
  work: () => Promise<T>,
): Promise<{ value: T; cores: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const started = process.hrtime.bigint();
  const value = await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cores = Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => [
      name,
      Math.round(((cpuSeconds(pid) - (before[name] ?? 0)) / seconds) * 100) / 100,
    ]),
  );
  return { value, cores };
}
