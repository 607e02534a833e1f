/** CPU time of processes from /proc, to tell which process a load test saturated. */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** utime + stime of a process (all its threads), in seconds; NaN once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
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
