/** Fixtures a test file (or `describe` block) shares: started before its first test, closed after its last. */
import { afterAll, beforeAll } from 'vitest';

/**
 * What `start` resolves to, for the enclosing suite's tests: use it in tests and hooks as the thing itself (each
 * property is read from and written to it when used, so what it reassigns, a restart say, is seen). Closed after the
 * last test.
 */
export function useForSuite<T extends { close(): unknown }>(start: () => Promise<T>): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    await started?.close();
  });
  const fixture = (name: string | symbol): T => {
    if (!started) throw new Error(`.${String(name)} used before the suite's fixture started`);
    return started;
  };
  return new Proxy({} as T, {
    get(_, name) {
      const value = Reflect.get(fixture(name), name);
      return typeof value === 'function' ? value.bind(started) : value;
    },
    set: (_, name, value) => Reflect.set(fixture(name), name, value),
  });
}
