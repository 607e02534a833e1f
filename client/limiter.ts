/** A concurrency limit shared by several uploads: at most `max` run at once, the others wait in order. */

export interface Limiter {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export const unlimited: Limiter = { run: (task) => task() };

export function createLimiter(max: number): Limiter {
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError('the concurrency limit must be a positive integer');
  let running = 0;
  const waiting: Array<() => void> = [];
  return {
    async run(task) {
      if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
      running++;
      try {
        return await task();
      } finally {
        running--;
        waiting.shift()?.();
      }
    },
  };
}
